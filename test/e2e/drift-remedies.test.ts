// The drift remedies as API calls on a running `harrow serve` (sim): adopt-guest-mac takes the guest's MAC into the
// manifest (reserved, applied on restart, old MAC quarantined, 409 naming a holder), restore-mac restarts to the platform MAC.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../../src/client/client.ts';
import type { AuditRecord, MacAllocation, VirtualMachine } from '../../src/resources/types.ts';
import { macAllocationName } from '../../src/resources/types.ts';
import {
  NS,
  bridgeNetwork,
  conditionOf,
  getVm,
  getVmi,
  guestMac,
  launcherPod,
  networkStatus,
  pingOk,
  reaches,
  runningVmi,
  specMacs,
  virtualMachine,
} from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const GATEWAY = '198.18.42.1';
const GUEST = '02:00:00:00:0b:01';

describe('drift remedies on a running server', { concurrency: false }, () => {
  let server: HarrowServer;
  let macA = '';
  let macB = '';
  const wait = <T>(fn: () => Promise<T | false | undefined>, message: string): Promise<T> =>
    waitFor(fn, { timeoutMs: 30_000, intervalMs: 50, message }) as Promise<T>;
  const drifted = (vm: string, mac: string): Promise<unknown> =>
    wait(
      async () => (await getVmi(server.client, vm))?.status?.interfaces?.[0]?.guestMac === mac,
      `${vm}'s guest MAC ${mac} observed`,
    );
  const refused = (
    p: Promise<unknown>,
    code: number,
    check: (e: ApiError) => void,
  ): Promise<void> =>
    assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof ApiError && e.code === code, String(e));
      check(e);
      return true;
    });

  before(async () => {
    server = await startServer();
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 42),
    );
    macA = specMacs(
      await server.client.create<VirtualMachine>(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine('vm-a'),
      ),
    )[0]!;
    macB = specMacs(
      await server.client.create<VirtualMachine>(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine('vm-b'),
      ),
    )[0]!;
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('vm-off', { runStrategy: 'Halted' }),
    );
    await wait(() => runningVmi(server.client, 'vm-a'), 'vm-a running');
    await wait(() => runningVmi(server.client, 'vm-b'), 'vm-b running');
  });
  after(async () => {
    await server?.stop();
  });

  test('discovery lists restore-mac and adopt-guest-mac under subresources.harrow.io/v1', async () => {
    const r = await fetch(`${server.url}/apis/subresources.harrow.io/v1`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    const names = ((await r.json()) as { resources: Array<{ name: string }> }).resources.map(
      (x) => x.name,
    );
    for (const n of ['virtualmachines/restore-mac', 'virtualmachines/adopt-guest-mac'])
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  });

  test('nothing to remedy: a stopped VM is refused (409), an interface with no drift or no such interface is named (422)', async () => {
    await refused(server.client.restoreMac(NS, 'vm-off'), 409, (e) =>
      assert.match(e.message, /not running/),
    );
    await refused(server.client.adoptGuestMac(NS, 'vm-off'), 409, (e) =>
      assert.match(e.message, /not running/),
    );
    await refused(server.client.adoptGuestMac(NS, 'vm-a'), 409, (e) =>
      assert.match(e.message, /nothing to adopt/),
    );
    await refused(
      server.client.adoptGuestMac(NS, 'vm-a', { interfaces: ['default', 'nope'] }),
      422,
      (e) => {
        const fields = e.status.details?.causes?.map((c) => c.field);
        assert.deepEqual(fields, ['interfaces[0]', 'interfaces[1]']);
      },
    );
  });

  test('adopt after an in-guest change: manifest carries the guest MAC, a restart makes pod, VMI and guest agree, connectivity is back, the old MAC is quarantined', async () => {
    const exec = await server.client.guestExec(NS, 'vm-a', [
      'ip',
      'link',
      'set',
      'eth0',
      'address',
      GUEST,
    ]);
    assert.equal(exec.exitCode, 0, exec.stderr);
    await drifted('vm-a', GUEST);
    assert.equal(
      await pingOk(server.client, 'vm-a', GATEWAY),
      false,
      'the drifted guest is cut off',
    );
    const running = await getVmi(server.client, 'vm-a');
    // restore-mac?dryRun=All says it was a dry run, and restarts nothing.
    const dryRestore = await fetch(
      `${server.url}/apis/subresources.harrow.io/v1/namespaces/${NS}/virtualmachines/vm-a/restore-mac?dryRun=All`,
      { method: 'PUT', headers: { authorization: `Bearer ${server.token}` } },
    );
    assert.equal(dryRestore.status, 202);
    assert.equal(
      ((await dryRestore.json()) as { message: string }).message,
      `dry run: nothing changed; vm-a would restart: interface default would get ${macA} again (the guest uses ${GUEST})`,
    );
    const dry = await server.client.adoptGuestMac<VirtualMachine>(NS, 'vm-a', { dryRun: true });
    // The CLI prints the server's warning as sent: an ASCII header, so no "â" where the message has an arrow.
    const cli = await server.cli(['drift', 'adopt', 'vm-a', '-n', NS, '--dry-run']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stderr,
      new RegExp(
        `dry run: nothing changed; interface default: macAddress ${macA} -> ${GUEST} would apply at the next restart`,
      ),
    );
    assert.doesNotMatch(cli.stderr, /[\u0080-\uffff]/);
    assert.equal(specMacs(dry)[0], GUEST);
    assert.equal(
      specMacs(await getVm(server.client, 'vm-a'))[0],
      macA,
      'a dry run changes nothing',
    );
    const adopted = await server.client.adoptGuestMac<VirtualMachine>(NS, 'vm-a');
    assert.equal(specMacs(adopted)[0], GUEST, 'the manifest carries the guest MAC');
    const alloc = await server.client.get<MacAllocation>('MacAllocation', {
      name: macAllocationName(GUEST),
    });
    assert.equal(alloc.spec.owner.name, 'vm-a', 'reserved for vm-a');
    await wait(
      async () =>
        conditionOf(await getVm(server.client, 'vm-a'), 'RestartRequired')?.status === 'True',
      'RestartRequired',
    );
    assert.equal(
      (await getVmi(server.client, 'vm-a'))?.metadata.uid,
      running?.metadata.uid,
      'applied at the next restart, not now',
    );
    const audit = await server.client.listAll<AuditRecord>('AuditRecord', {
      namespace: NS,
      labelSelector: 'harrow.io/verb=adopt-guest-mac',
    });
    assert.ok(
      audit.some((r) => r.spec.changes?.some((c) => c.old === macA && c.new === GUEST)),
      `audited old → new: ${JSON.stringify(audit.map((r) => r.spec))}`,
    );

    await server.client.restart(NS, 'vm-a');
    const vmi = await wait(
      () => runningVmi(server.client, 'vm-a', running?.metadata.uid),
      'vm-a running with the adopted MAC',
    );
    assert.equal(vmi.status?.interfaces?.[0]?.mac, GUEST, 'the VMI shows the adopted MAC');
    assert.equal(
      networkStatus(await launcherPod(server.client, 'vm-a'))[0]?.mac,
      GUEST,
      'the pod interface has it',
    );
    assert.equal(await guestMac(server.client, 'vm-a'), GUEST, 'the guest has it');
    assert.ok(await reaches(server.client, 'vm-a', GATEWAY), 'connectivity is back');
    assert.equal(conditionOf(vmi, 'GuestMACMismatch'), undefined);
    const old = await wait(async () => {
      const a = await server.client.get<MacAllocation>('MacAllocation', {
        name: macAllocationName(macA),
      });
      return a.status.state === 'Quarantined' && a;
    }, 'the old MAC quarantined');
    assert.equal(old.spec.owner.name, 'vm-a');
  });

  test('adopting a MAC another VM holds is refused with 409 naming the field and the holder; restore-mac brings the platform MAC back', async () => {
    const running = await getVmi(server.client, 'vm-b');
    const exec = await server.client.guestExec(NS, 'vm-b', [
      'ip',
      'link',
      'set',
      'eth0',
      'address',
      GUEST,
    ]);
    assert.equal(exec.exitCode, 0, exec.stderr);
    await drifted('vm-b', GUEST);
    await refused(server.client.adoptGuestMac(NS, 'vm-b'), 409, (e) => {
      const cause = e.status.details?.causes?.[0];
      assert.equal(cause?.field, 'spec.template.spec.domain.devices.interfaces[0].macAddress');
      assert.match(cause?.message ?? '', /default\/vm-a/);
    });
    assert.equal(
      specMacs(await getVm(server.client, 'vm-b'))[0],
      macB,
      'the manifest is unchanged',
    );
    const r = await server.cli(['drift', 'restore', 'vm-b', '--wait', '--timeout', '60s']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`vm-b/default: restoring ${macB} \\(the guest uses ${GUEST}\\)`),
    );
    await wait(() => runningVmi(server.client, 'vm-b', running?.metadata.uid), 'vm-b restarted');
    assert.equal(
      await guestMac(server.client, 'vm-b'),
      macB,
      'the guest has the platform MAC again',
    );
    assert.ok(await reaches(server.client, 'vm-b', GATEWAY));
    const audit = await server.client.listAll<AuditRecord>('AuditRecord', {
      namespace: NS,
      labelSelector: 'harrow.io/name=vm-b',
    });
    assert.ok(
      audit.some((r) => r.spec.verb === 'restore-mac' && r.spec.outcome.status === 'Success'),
      'restore-mac audited',
    );
    assert.ok(
      audit.some((r) => r.spec.verb === 'adopt-guest-mac' && r.spec.outcome.code === 409),
      'the refused adopt audited too',
    );
  });

  test('harrow drift adopt VM --restart --wait: the guest MAC through the API, restart, connectivity check', async () => {
    const other = '02:00:00:00:0b:02';
    await server.client.guestExec(NS, 'vm-b', ['ip', 'link', 'set', 'eth0', 'address', other]);
    await drifted('vm-b', other);
    const r = await server.cli([
      'drift',
      'adopt',
      'vm-b',
      '--restart',
      '--wait',
      '--timeout',
      '60s',
    ]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`interface default: macAddress ${macB} → ${other}`));
    assert.match(r.stdout, /connectivity default: ok/);
    assert.equal(await guestMac(server.client, 'vm-b'), other);
  });
});
