// harrow fsck on a real SQLite store in a temp dir: each inconsistency is found and named, --repair fixes the safe ones only.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { MacAllocationService, allocationObject } from '../../src/allocation/service.ts';
import { run } from '../../src/cli/program.ts';
import { planFsck, repairStore, storeSource, withoutPlans } from '../../src/fsck/check.ts';
import {
  macAllocationName,
  type MacAllocation,
  type VirtualMachine,
} from '../../src/resources/types.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import { podFixture, vmiFixture } from './cli-fixtures.ts';
import { admitVm, poolVm } from './allocation-fixtures.ts';

const vm = poolVm;

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: () => (async function* () {})(),
    env: {},
    cwd: process.cwd(),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

describe('fsck', () => {
  let dataDir: string;
  let store: SqliteStore;
  let macs: MacAllocationService;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'harrow-fsck-'));
    dirs.push(dataDir);
    store = await openSqliteStore(join(dataDir, 'harrow.db'));
    macs = await MacAllocationService.open(store);
  });
  afterEach(async () => {
    macs.close();
    await store.close();
  });

  const admit = (v: VirtualMachine): Promise<VirtualMachine> => admitVm(macs, store, v);
  const allocation = async (mac: string): Promise<MacAllocation> =>
    (await store.get({ kind: 'MacAllocation', name: macAllocationName(mac) })) as MacAllocation;
  const kinds = async (): Promise<string[]> =>
    withoutPlans(await planFsck(storeSource(store)))
      .map((p) => `${p.kind} ${p.macAddress ?? p.object?.name}`)
      .sort();

  test('a store written through admission, with its instance and pod, is clean (CLI exit 0)', async () => {
    const a = await admit(vm('a', [undefined, '52:54:00:00:00:01']));
    const vmi = vmiFixture({ ...a, metadata: { ...a.metadata, namespace: 'default' } }, []);
    vmi.metadata.ownerReferences = [
      { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'a', uid: a.metadata.uid! },
    ];
    delete vmi.metadata.uid;
    const storedVmi = await store.create(vmi);
    const pod = podFixture({ ...vmiFixture(a, []), metadata: { ...storedVmi.metadata } }, []);
    await store.create(pod);
    assert.deepEqual(await kinds(), []);
    await macs.close();
    await store.close();
    const r = await cli(['fsck', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /consistent/);
    store = await openSqliteStore(join(dataDir, 'harrow.db'));
    macs = await MacAllocationService.open(store);
  });

  test('each inconsistency is reported; --repair fixes the safe ones and leaves a MAC two VMs claim alone', async () => {
    const a = await admit(vm('a', ['52:54:00:00:00:0a', '52:54:00:00:00:0b']));
    await admit(vm('b', ['52:54:00:00:00:0c']));
    // missing-allocation: a manifest written behind admission's back, its MAC free
    await store.create(vm('c', ['52:54:00:00:00:0d']));
    // duplicate-in-manifests: d carries b's MAC (never reassigned)
    await store.create(vm('d', ['52:54:00:00:00:0c']));
    // wrong-holder: a's second MAC names nic0
    const held = await allocation('52:54:00:00:00:0b');
    await store.update({
      ...held,
      spec: { ...held.spec, owner: { ...held.spec.owner, interface: 'nic0' } },
    });
    // orphan-allocation: held in use by a VM that is gone and no instance uses it
    await store.create(
      allocationObject('52:54:00:00:00:0e', '', {
        kind: 'VirtualMachine',
        namespace: 'default',
        name: 'gone',
        interface: 'nic0',
      }),
    );
    // misnamed-allocation: a second allocation for a's first MAC, under another name
    const twin = allocationObject('52:54:00:00:00:0a', '', {
      kind: 'VirtualMachine',
      namespace: 'default',
      name: 'x',
      interface: 'nic0',
    });
    twin.metadata.name = 'twin';
    await store.create(twin);
    // orphan-vmi and orphan-pod
    const lostVm = vm('lost', []);
    const vmi = vmiFixture({ ...lostVm, metadata: { ...lostVm.metadata } }, []);
    vmi.metadata.ownerReferences = [
      { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'lost', uid: 'uid-lost' },
    ];
    delete vmi.metadata.uid;
    await store.create(vmi);
    await store.create(podFixture(vmiFixture(vm('nothing', []), []), []));

    assert.deepEqual(await kinds(), [
      'duplicate-in-manifests 52:54:00:00:00:0c',
      'mac-held-twice 52:54:00:00:00:0a',
      'misnamed-allocation 52:54:00:00:00:0a',
      'missing-allocation 52:54:00:00:00:0d',
      'orphan-allocation 52:54:00:00:00:0e',
      'orphan-pod 52:54:00:00:00:0a'.replace('52:54:00:00:00:0a', 'virt-launcher-nothing-abcde'),
      'orphan-vmi lost',
      'wrong-holder 52:54:00:00:00:0b',
    ]);
    const planned = await planFsck(storeSource(store));
    const byKind = new Map(planned.map((p) => [p.kind, p]));
    assert.match(
      byKind.get('duplicate-in-manifests')!.message,
      /default\/b .*default\/d|default\/d .*default\/b/,
    );
    assert.equal(byKind.get('duplicate-in-manifests')!.repair, undefined);
    assert.equal(byKind.get('mac-held-twice')!.repair, undefined);

    const outcomes = await repairStore(store, planned);
    assert.ok(
      outcomes.every((o) => o.repaired),
      JSON.stringify(outcomes),
    );
    assert.deepEqual(outcomes.map((o) => o.problem.kind).sort(), [
      'missing-allocation',
      'orphan-allocation',
      'orphan-pod',
      'orphan-vmi',
      'wrong-holder',
    ]);
    assert.deepEqual(await kinds(), [
      'duplicate-in-manifests 52:54:00:00:00:0c',
      'mac-held-twice 52:54:00:00:00:0a',
      'misnamed-allocation 52:54:00:00:00:0a',
    ]);
    const created = await allocation('52:54:00:00:00:0d');
    assert.deepEqual(created.spec.owner, {
      kind: 'VirtualMachine',
      namespace: 'default',
      name: 'c',
      interface: 'nic0',
      uid: (await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'c' }))!.metadata
        .uid,
    });
    assert.equal((await allocation('52:54:00:00:00:0b')).spec.owner.interface, 'nic1');
    assert.equal((await allocation('52:54:00:00:00:0b')).spec.owner.uid, a.metadata.uid);
    assert.equal((await allocation('52:54:00:00:00:0e')).status.state, 'Quarantined');
    // b keeps its MAC: d's claim is reported, not acted on
    assert.equal((await allocation('52:54:00:00:00:0c')).spec.owner.name, 'b');
    const audits = (await store.list('AuditRecord')).items.filter(
      (r) => (r.spec as { user: string }).user === 'system:harrow-fsck',
    );
    assert.equal(audits.length, 5);
  });

  test('a MAC the manifest dropped but the running instance still uses is not an orphan', async () => {
    const a = await admit(vm('a', ['52:54:00:00:00:21']));
    const vmi = vmiFixture(a, []);
    vmi.metadata.ownerReferences = [
      { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'a', uid: a.metadata.uid! },
    ];
    delete vmi.metadata.uid;
    await store.create(vmi);
    const changed = structuredClone(a);
    changed.spec.template.spec.domain.devices.interfaces![0]!.macAddress = '52:54:00:00:00:22';
    const plan = await macs.planVirtualMachine(a, changed, { allocateMissing: true });
    await store.commit([{ type: 'update', object: changed }, ...plan.ops]);
    plan.committed();
    assert.deepEqual(await kinds(), []);
    await store.delete({ kind: 'VirtualMachineInstance', namespace: 'default', name: 'a' });
    assert.deepEqual(await kinds(), ['orphan-allocation 52:54:00:00:00:21']);
  });

  test('an allocation named for another VM that still uses the MAC is reported, never reassigned', async () => {
    await admit(vm('old', ['52:54:00:00:00:31']));
    const vmi = vmiFixture(vm('old', ['52:54:00:00:00:31']), []);
    delete vmi.metadata.uid;
    await store.create(vmi);
    // old's manifest no longer carries it, but new's does (written behind admission's back)
    const stored = (await store.get({
      kind: 'VirtualMachine',
      namespace: 'default',
      name: 'old',
    })) as VirtualMachine;
    stored.spec.template.spec.domain.devices.interfaces = [];
    await store.update(stored);
    await store.create(vm('new', ['52:54:00:00:00:31']));
    const planned = await planFsck(storeSource(store));
    assert.equal(planned.length, 1);
    assert.equal(planned[0]!.kind, 'wrong-holder');
    assert.match(planned[0]!.message, /two VMs claim it/);
    assert.equal(planned[0]!.ops, undefined);
  });

  test('CLI: problems print one per line with exit 1, -o json is a report; --repair is refused while a server runs', async () => {
    await store.create(vm('c', ['52:54:00:00:00:41']));
    await macs.close();
    await store.close();
    const r = await cli(['fsck', '--data-dir', dataDir]);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^missing-allocation: default\/c \(interface nic0\) carries 52:54:00:00:00:41, but no MacAllocation holds it \[--repair: create MacAllocation 52-54-00-00-00-41 held by default\/c\]$/m,
    );
    const j = await cli(['fsck', '--data-dir', dataDir, '-o', 'json']);
    // The shape audit verify -o json prints too: check, ok, problems with kind/name/message.
    const report = JSON.parse(j.stdout) as {
      check: string;
      ok: boolean;
      problems: Array<{ kind: string; name?: string; message: string; macAddress: string }>;
    };
    assert.deepEqual([report.check, report.ok], ['fsck', false]);
    assert.equal(report.problems[0]?.name, '52-54-00-00-00-41', 'the MacAllocation it is about');
    assert.match(report.problems[0]?.message ?? '', /carries 52:54:00:00:00:41/);
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.macAddress]),
      [['missing-allocation', '52:54:00:00:00:41']],
    );
    // a live pid in server.json: this test process's parent is alive and not us
    await writeFile(
      join(dataDir, 'server.json'),
      JSON.stringify({ url: 'http://127.0.0.1:1', pid: process.ppid }),
    );
    const refused = await cli(['fsck', '--data-dir', dataDir, '--repair']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is serving .*stop it before fsck --repair/);
    await rm(join(dataDir, 'server.json'));
    const fixed = await cli(['fsck', '--data-dir', dataDir, '--repair', '-o', 'json']);
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.equal((JSON.parse(fixed.stdout) as { ok: boolean }).ok, true);
    assert.equal((await cli(['fsck', '--data-dir', dataDir])).code, 0);
    const missing = await cli(['fsck', '--data-dir', join(dataDir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no Harrow store at/);
    store = await openSqliteStore(join(dataDir, 'harrow.db'));
    macs = await MacAllocationService.open(store);
  });
});
