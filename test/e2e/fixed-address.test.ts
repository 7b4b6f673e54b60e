// An IP that stays with the VM (issue 16): a fixed address (Harvester's `static-ip.harvesterhci.io/<interface>`
// annotation) comes back after a MAC change through the manifest and a restart — the network's DHCP server moved the
// reservation to the new MAC and released the old MAC's lease — the connectivity check says so, and a second VM asking
// for the address gets a 409 naming the holder. On sim, and on qemu with real dnsmasq and busybox guests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../../src/client/errors.ts';
import type { VirtualMachineInstance } from '../../src/resources/types.ts';
import { NS, bridgeNetwork, conditionOf, getVm, runningVmi, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { runtimesUnderTest } from './runtimes.ts';

const FIXED = '198.18.61.77';
const KEY = 'static-ip.harvesterhci.io/default';

for (const rt of runtimesUnderTest()) {
  describe(`a fixed address stays with the VM on ${rt.name}`, { skip: rt.skip ?? false }, () => {
    let server: HarrowServer;
    let networkId = '';
    const wait = <T>(what: string, probe: () => Promise<T | false | undefined>) =>
      waitFor(async () => (await probe()) ?? false, {
        timeoutMs: rt.timeoutMs,
        intervalMs: rt.name === 'sim' ? 50 : 500,
        message: what,
      }) as Promise<T>;

    before(async () => {
      server = await startServer({ runtime: rt.name });
      const nad = await server.client.create(
        'NetworkAttachmentDefinition',
        { namespace: NS },
        bridgeNetwork('lan', 61),
      );
      networkId = (nad.metadata.uid ?? '').replace(/[^0-9a-f]/g, '').slice(0, 8);
    });
    after(async () => {
      await server?.stop();
    });

    test('after a MAC change and a restart the guest has its fixed address back, leased to the new MAC; the old MAC has none; a second VM asking for it gets 409', async () => {
      const OLD = '02:aa:16:00:61:01';
      const NEW = '02:aa:16:00:61:02';
      await server.client.create(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine('fixed', { mac: OLD, annotations: { [KEY]: FIXED } }),
      );
      const first = await wait<VirtualMachineInstance>('fixed running with an address', () =>
        runningVmi(server.client, 'fixed'),
      );
      const dnsmasqDir = join(server.dataDir, 'qemu', 'networks', networkId);
      const dnsmasqLog = () =>
        rt.name === 'qemu' ? readFileSync(join(dnsmasqDir, 'dnsmasq.log'), 'utf8') : '';
      assert.equal(
        first.status!.interfaces![0]!.ipAddress,
        FIXED,
        `the first boot gets it\n${dnsmasqLog()}`,
      );

      const set = await server.cli(['set-mac', 'fixed', 'default', NEW, '--restart', '--wait']);
      assert.equal(set.code, 0, set.stderr);
      const second = await wait<VirtualMachineInstance>('a new instance with an address', () =>
        runningVmi(server.client, 'fixed', first.metadata.uid),
      );
      const iface = second.status!.interfaces![0]!;
      assert.equal(iface.mac, NEW);
      assert.equal(iface.ipAddress, FIXED, 'the guest has the same IP');
      const check = await wait('the connectivity check', async () =>
        conditionOf(await getVm(server.client, 'fixed'), 'ConnectivityCheck'),
      );
      assert.equal(check.status, 'True', check.message);
      const result = (await getVm(server.client, 'fixed')).status!.connectivityCheck!.results[0]!;
      assert.deepEqual(
        result.lease,
        { ip: FIXED, macAddress: NEW },
        'the lease is for the new MAC',
      );
      assert.equal(result.fixedAddress, FIXED, JSON.stringify(result));
      const guest = await server.client.guestExec(NS, 'fixed', [
        'ip',
        '-4',
        'addr',
        'show',
        'eth0',
      ]);
      assert.match(guest.stdout, new RegExp(`inet ${FIXED.replaceAll('.', '\\.')}/24`));
      if (rt.name === 'qemu') {
        // dnsmasq's own files: the reservation is the new MAC's, and no lease is left for the old one.
        const dir = join(server.dataDir, 'qemu', 'networks', networkId);
        assert.equal(readFileSync(join(dir, 'hosts'), 'utf8'), `${NEW},${FIXED}\n`);
        const leases = readFileSync(join(dir, 'leases'), 'utf8');
        assert.ok(!leases.includes(OLD), `no lease for the old MAC:\n${leases}`);
        assert.match(leases, new RegExp(`${NEW} ${FIXED.replaceAll('.', '\\.')} `));
      }

      await assert.rejects(
        server.client.create(
          'VirtualMachine',
          { namespace: NS },
          virtualMachine('second', { annotations: { [KEY]: FIXED } }),
        ),
        (e: unknown) => {
          assert.ok(e instanceof ApiError, String(e));
          assert.equal(e.status.code, 409);
          assert.match(
            e.status.message ?? '',
            /198\.18\.61\.77 on network default\/lan is in use by default\/fixed \(interface default\)/,
          );
          assert.equal(e.status.details?.causes?.[0]?.field, `metadata.annotations[${KEY}]`);
          return true;
        },
      );
      assert.equal(
        (await server.client.list('VirtualMachine', { namespace: NS })).items.some(
          (v) => v.metadata.name === 'second',
        ),
        false,
        'nothing stored',
      );

      // Deleted, the VM gives the address back: no claim (a VM may take it) and, on qemu, no reservation or lease.
      await server.client.delete('VirtualMachine', { namespace: NS, name: 'fixed' });
      if (rt.name === 'qemu') {
        const dir = join(server.dataDir, 'qemu', 'networks', networkId);
        await wait('the reservation and its lease gone', async () => {
          const hosts = readFileSync(join(dir, 'hosts'), 'utf8');
          const leases = readFileSync(join(dir, 'leases'), 'utf8');
          return hosts === '' && !leases.includes(NEW) && !leases.includes(FIXED);
        });
      }
      await wait('a new VM may claim the address', async () =>
        server.client
          .create(
            'VirtualMachine',
            { namespace: NS },
            virtualMachine('second', { runStrategy: 'Halted', annotations: { [KEY]: FIXED } }),
          )
          .then(() => true),
      );
    });
  });
}
