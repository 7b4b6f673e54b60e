// Crash safety: `harrow serve` is SIGKILLed at random moments under a concurrent create/patch/delete load of VMs, 20
// times; every write it acknowledged must be in the store it left behind, fsck must find nothing, no MAC held twice.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { planFsck, storeSource, withoutPlans, type FsckProblem } from '../../src/fsck/check.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { MacAllocation, VirtualMachine } from '../../src/resources/types.ts';
import { interfacesOf, templateSpecOf } from '../../src/resources/virtualmachine.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { NS, bridgeNetwork, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const KILLS = 20;
const WORKERS = 4;
const NAMES_PER_WORKER = 5;
/** Fsck findings a crash may leave for the controllers to finish (a deleted VM's instance, pod and allocation). */
const CONVERGING: ReadonlySet<string> = new Set(['orphan-allocation', 'orphan-vmi', 'orphan-pod']);

/** What the store must hold for one VM name: absent, or present carrying `mac`. */
type Expected = { present: false } | { present: true; mac: string };

const describeExpected = (e: Expected | undefined): string =>
  e === undefined ? 'unknown' : e.present ? `present with ${e.mac}` : 'absent';
const same = (a: Expected, b: Expected): boolean =>
  a.present === b.present && (!a.present || (b.present && a.mac === b.mac));

let server: HarrowServer | undefined;
after(() => server?.stop());

let macCounter = Math.floor(Math.random() * 0xffff) * 0x10000;
/** A MAC no earlier write used (a released MAC sits in quarantine; reusing one would be refused, not acknowledged). */
function freshMac(): string {
  macCounter++;
  const hex = macCounter.toString(16).padStart(8, '0');
  return `02:c5:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}`;
}

function macOf(vm: KubeObject): string {
  const mac = interfacesOf(templateSpecOf(vm as VirtualMachine))[0]?.macAddress;
  if (!mac) throw new Error(`VM ${vm.metadata.name} has no MAC: ${JSON.stringify(vm.spec)}`);
  return mac;
}

interface Ledger {
  /** The state the last acknowledged write of each name implies. */
  acked: Map<string, Expected>;
  /** The state a write in flight when the server died would imply (it may or may not have been committed). */
  inFlight: Map<string, Expected>;
  writesAcked: number;
  /** Acknowledged since the last check of the store. */
  writesUnchecked: number;
  refused: Map<string, number>;
}

/** One worker: owns its names, so the writes to a name are sequential and the last acknowledged one decides its state. */
async function runWorker(
  url: string,
  token: string,
  names: string[],
  ledger: Ledger,
  stopped: () => boolean,
): Promise<void> {
  const call = async (
    method: string,
    path: string,
    body: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; object: KubeObject }> => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, object: (await r.json()) as KubeObject };
  };
  const vms = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`;
  while (!stopped()) {
    const name = names[Math.floor(Math.random() * names.length)]!;
    const current = ledger.acked.get(name) ?? { present: false };
    let request: () => Promise<{ status: number; object: KubeObject }>;
    let implies: (o: KubeObject) => Expected;
    let would: Expected | undefined; // what the store holds if the write commits (undefined: known only from the answer)
    let verb: string;
    if (!current.present) {
      const mac = Math.random() < 0.5 ? freshMac() : undefined;
      const vm = virtualMachine(name, {
        network: 'lan',
        runStrategy: Math.random() < 0.5 ? 'Always' : 'Halted',
        ...(mac ? { mac } : {}),
      });
      verb = mac ? 'create-with-mac' : 'create';
      request = () => call('POST', vms, vm);
      implies = (o) => ({ present: true, mac: macOf(o) });
      would = mac ? { present: true, mac } : undefined;
    } else if (Math.random() < 0.6) {
      const mac = freshMac();
      verb = 'patch-mac';
      request = () =>
        call(
          'PATCH',
          `${vms}/${name}`,
          {
            spec: {
              template: {
                spec: {
                  domain: {
                    devices: { interfaces: [{ name: 'default', bridge: {}, macAddress: mac }] },
                  },
                },
              },
            },
          },
          'application/merge-patch+json',
        );
      implies = () => ({ present: true, mac });
      would = { present: true, mac };
    } else {
      verb = 'delete';
      request = () => call('DELETE', `${vms}/${name}`, undefined);
      implies = () => ({ present: false });
      would = { present: false };
    }
    // Unknown outcome until answered: a create without a MAC gets one from the pool, so any MAC is possible then.
    ledger.inFlight.set(name, would ?? { present: true, mac: '*' });
    let answer: { status: number; object: KubeObject };
    try {
      answer = await request();
    } catch {
      return; // the server is gone: this write stays in flight
    }
    ledger.inFlight.delete(name);
    if (answer.status >= 200 && answer.status < 300) {
      ledger.acked.set(name, implies(answer.object));
      ledger.writesAcked++;
      ledger.writesUnchecked++;
    } else {
      assert.ok(
        answer.status < 500,
        `${verb} ${name}: HTTP ${answer.status} ${JSON.stringify(answer.object)}`,
      );
      const key = `${verb} ${answer.status}`;
      ledger.refused.set(key, (ledger.refused.get(key) ?? 0) + 1);
    }
  }
}

/** Fsck findings that a committed write can never leave behind, whatever moment the crash came. */
const integrityProblems = (problems: FsckProblem[]): FsckProblem[] =>
  problems.filter((p) => !CONVERGING.has(p.kind));

function macsHeldTwice(vms: KubeObject[], allocations: KubeObject[]): string[] {
  const found: string[] = [];
  const carriers = new Map<string, string>();
  for (const vm of vms) {
    for (const iface of interfacesOf(templateSpecOf(vm as VirtualMachine))) {
      if (!iface.macAddress) continue;
      const who = `${vm.metadata.namespace}/${vm.metadata.name}/${iface.name}`;
      const first = carriers.get(iface.macAddress);
      if (first) found.push(`${iface.macAddress} carried by ${first} and ${who}`);
      carriers.set(iface.macAddress, who);
    }
  }
  const held = new Map<string, string>();
  for (const a of allocations as MacAllocation[]) {
    const first = held.get(a.spec.macAddress);
    if (first) found.push(`${a.spec.macAddress} allocated twice: ${first} and ${a.metadata.name}`);
    held.set(a.spec.macAddress, a.metadata.name);
  }
  return found;
}

test(`SIGKILL at ${KILLS} random moments under a create/patch/delete load loses no acknowledged write and holds no MAC twice`, async () => {
  const started = Date.now();
  server = await startServer();
  const s = server;
  await s.client.create('NetworkAttachmentDefinition', { namespace: NS }, bridgeNetwork('lan', 61));
  const ledger: Ledger = {
    acked: new Map(),
    inFlight: new Map(),
    writesAcked: 0,
    writesUnchecked: 0,
    refused: new Map(),
  };
  const names = Array.from({ length: WORKERS }, (_, w) =>
    Array.from({ length: NAMES_PER_WORKER }, (_, i) => `crash-${w}-${i}`),
  );
  let writesChecked = 0;
  // Writes the crash caught between request and answer: committed (answer lost) or not; both are allowed.
  let inFlightCommitted = 0;
  let inFlightLost = 0;
  let killsSurvived = 0;

  for (let kill = 1; kill <= KILLS; kill++) {
    let stop = false;
    const workers = names.map((own) => runWorker(s.url, s.token, own, ledger, () => stop));
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 700));
    await s.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);

    // The store as the killed server left it, before anything could repair it: every acknowledged write is there.
    const store = await openSqliteStore(join(s.dataDir, 'harrow.db'));
    try {
      const vms = (await store.list('VirtualMachine', { namespace: NS })).items;
      const allocations = (await store.list('MacAllocation')).items;
      const byName = new Map(vms.map((vm) => [vm.metadata.name, vm]));
      for (const name of names.flat()) {
        const vm = byName.get(name);
        const actual: Expected = vm ? { present: true, mac: macOf(vm) } : { present: false };
        const acked = ledger.acked.get(name) ?? { present: false };
        const flying = ledger.inFlight.get(name);
        const flyingMatches =
          flying !== undefined &&
          (same(flying, actual) || (flying.present && flying.mac === '*' && actual.present));
        assert.ok(
          same(acked, actual) || flyingMatches,
          `kill ${kill}: ${name} is ${describeExpected(actual)}; its last acknowledged write says ${describeExpected(acked)}` +
            (flying ? `, the write in flight ${describeExpected(flying)}` : ''),
        );
        if (flying !== undefined && !same(acked, actual)) inFlightCommitted++;
        else if (flying !== undefined) inFlightLost++;
        // From here on the store's state is what later writes build on.
        ledger.acked.set(name, actual);
      }
      ledger.inFlight.clear();
      writesChecked += ledger.writesUnchecked;
      ledger.writesUnchecked = 0;
      assert.deepEqual(macsHeldTwice(vms, allocations), [], `kill ${kill}: no MAC held twice`);
      const problems = integrityProblems(withoutPlans(await planFsck(storeSource(store))));
      assert.deepEqual(problems, [], `kill ${kill}: fsck of the store left behind`);
    } finally {
      await store.close();
    }

    await s.restart();
    killsSurvived++;
    // Once the controllers caught up with the crash, fsck (as `harrow fsck` through the API) finds nothing at all.
    await waitFor(
      async () =>
        withoutPlans(await planFsck({ listAll: (kind) => s.client.listAll(kind) })).length === 0 ||
        false,
      {
        timeoutMs: 20_000,
        intervalMs: 250,
        message: `kill ${kill}: fsck through the API after restart`,
      },
    );
  }

  // The last word is the command's own, on the data dir of a cleanly stopped server. A stop does not drain the
  // controllers' queues, so a reconcile it cut short may leave what the next start converges (an orphan pod or
  // allocation, as after every SIGKILL above); anything else is a defect.
  await s.kill('SIGTERM');
  const fsck = await s.cli(['fsck', '--data-dir', s.dataDir, '-o', 'json']);
  const report = JSON.parse(fsck.stdout) as { ok: boolean; problems: FsckProblem[] };
  assert.deepEqual(
    integrityProblems(report.problems),
    [],
    `harrow fsck: ${fsck.stdout}${fsck.stderr}`,
  );
  assert.equal(fsck.code, report.ok ? 0 : 1, `harrow fsck exit code: ${fsck.stdout}`);

  const refused = [...ledger.refused].map(([k, n]) => `${k}: ${n}`).join(', ');
  console.log(
    `kills survived: ${killsSurvived}, writes checked: ${writesChecked} (every acknowledged write, through the state of its VM), ` +
      `writes in flight at a kill: ${inFlightCommitted} committed, ${inFlightLost} not; refused: ${refused || 'none'}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  assert.equal(killsSurvived, KILLS);
  assert.ok(
    ledger.writesAcked >= KILLS * 5,
    `only ${ledger.writesAcked} writes were acknowledged: the load did not run`,
  );
});
