// Issue 16's fixed-IP acceptance case on the Debian guest under real QEMU: a VM whose interface has a fixed address
// (Harvester's `static-ip.harvesterhci.io/default`) on a bridge network with DHCP keeps that address across a MAC change
// through the manifest and a restart — the guest holds it (read through the guest agent), dnsmasq's lease is the new
// MAC's and the old MAC has none, the connectivity check passes with the fixed address — and a second VM asking for the
// address gets a 409 naming the holder. Two Debian boots.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ApiError } from '../../src/client/errors.ts';
import type { VirtualMachineInstance } from '../../src/resources/types.ts';
import {
  NS,
  bridgeNetwork,
  conditionOf,
  getVm,
  guestMac,
  reaches,
  specMacs,
  virtualMachine,
} from './fixtures.ts';
import { HARROW_BIN, startServer, waitFor, type HarrowServer } from './harness.ts';
import { DEBIAN_IMAGE, bootedGuest, debianSkip, osVm, waitForGuest } from './os-vms.ts';

const run = promisify(execFile);
const GATEWAY = '198.18.64.1';
/** Outside the network's dynamic range (.10–.200): only the reservation can give it. */
const FIXED = '198.18.64.231';
const KEY = 'static-ip.harvesterhci.io/default';
const OLD = '02:48:52:fe:64:01';
const NEW = '02:48:52:fe:64:02';
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe(
  'Debian guest: an IP that stays with the VM across a MAC change',
  { skip: debianSkip || false, concurrency: false },
  () => {
    let server: HarrowServer;
    let networkDir = '';
    let first: VirtualMachineInstance | undefined;
    const started = Date.now();
    const elapsed = (): string => `${Math.round((Date.now() - started) / 1000)} s`;

    const wait = waitForGuest;
    const booted = (notUid?: string): Promise<VirtualMachineInstance> =>
      bootedGuest(server.client, 'deb-fixed', notUid);
    const exec = (argv: string[]) => server.client.guestExec(NS, 'deb-fixed', argv);
    /** The guest's IPv4 addresses on eth0, as `ip` inside it prints them (through the guest agent). */
    const guestAddresses = async (): Promise<string[]> => {
      const r = await exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      return [...r.stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
    };
    /** One of dnsmasq's files for the network ('' when it has none). */
    const dnsmasqFile = (name: string): string => {
      try {
        return readFileSync(join(networkDir, name), 'utf8');
      } catch {
        return '';
      }
    };
    const leaseLines = (): string[] =>
      dnsmasqFile('leases')
        .split('\n')
        .filter((l) => l.trim() !== '');

    before(async () => {
      await run(HARROW_BIN, ['image', 'build', 'debian'], { timeout: 1_800_000 });
      server = await startServer({ runtime: 'qemu' });
      const nad = await server.client.create(
        'NetworkAttachmentDefinition',
        { namespace: NS },
        bridgeNetwork('lan', 64),
      );
      const networkId = (nad.metadata.uid ?? '').replace(/[^0-9a-f]/g, '').slice(0, 8);
      networkDir = join(server.dataDir, 'qemu', 'networks', networkId);
      await server.client.create(
        'VirtualMachine',
        { namespace: NS },
        osVm('deb-fixed', DEBIAN_IMAGE, { mac: OLD, annotations: { [KEY]: FIXED } }),
      );
    });
    after(async () => {
      await server?.stop();
    });

    test('the first boot: the guest holds its fixed address, leased to its MAC', async (t) => {
      first = await booted();
      t.diagnostic(`deb-fixed: up at ${elapsed()}`);
      assert.equal(first.status?.interfaces?.[0]?.mac, OLD);
      assert.equal(first.status?.interfaces?.[0]?.ipAddress, FIXED, dnsmasqFile('dnsmasq.log'));
      assert.deepEqual(await guestAddresses(), [FIXED], 'the guest itself holds it');
      assert.equal(dnsmasqFile('hosts'), `${OLD},${FIXED}\n`, "dnsmasq's reservation");
      assert.ok(
        leaseLines().some((l) => l.includes(` ${OLD} ${FIXED} `)),
        `a lease for ${OLD}:\n${dnsmasqFile('leases')}`,
      );
    });

    test('a second VM asking for the address gets 409 naming the holder, and nothing is stored', async () => {
      await assert.rejects(
        server.client.create(
          'VirtualMachine',
          { namespace: NS },
          virtualMachine('deb-second', { annotations: { [KEY]: FIXED } }),
        ),
        (e: unknown) => {
          assert.ok(e instanceof ApiError, String(e));
          assert.equal(e.status.code, 409, e.status.message);
          assert.match(
            e.status.message ?? '',
            new RegExp(
              `${escape(FIXED)} on network default/lan is in use by default/deb-fixed \\(interface default\\)`,
            ),
          );
          assert.equal(e.status.details?.causes?.[0]?.field, `metadata.annotations[${KEY}]`);
          return true;
        },
      );
      const names = (await server.client.list('VirtualMachine', { namespace: NS })).items.map(
        (v) => v.metadata.name,
      );
      assert.deepEqual(names, ['deb-fixed']);
    });

    test('a MAC change through the manifest + restart: the guest has the same IP, the lease is the new MAC’s, the old MAC has none, the check passes with the fixed address', async (t) => {
      const set = await server.cli(['set-mac', 'deb-fixed', 'default', NEW, '--restart']);
      assert.equal(set.code, 0, set.stderr);
      assert.equal(specMacs(await getVm(server.client, 'deb-fixed'))[0], NEW);
      const second = await booted(first!.metadata.uid);
      t.diagnostic(`deb-fixed: up on the new MAC at ${elapsed()}`);
      const status = second.status!.interfaces![0]!;
      assert.equal(status.mac, NEW, 'the VMI shows the new MAC');
      assert.equal(await guestMac(server.client, 'deb-fixed'), NEW, 'the guest uses it');
      assert.equal(status.ipAddress, FIXED, 'the VMI reports the fixed address');
      assert.deepEqual(await guestAddresses(), [FIXED], 'the guest has the same IP');

      // dnsmasq's own files: the reservation moved to the new MAC, its lease is the only one for the address.
      assert.equal(dnsmasqFile('hosts'), `${NEW},${FIXED}\n`);
      const leases = leaseLines();
      assert.ok(
        leases.some((l) => l.includes(` ${NEW} ${FIXED} `)),
        `the lease is the new MAC's:\n${leases.join('\n')}`,
      );
      assert.deepEqual(
        leases.filter((l) => l.includes(OLD) || (l.includes(` ${FIXED} `) && !l.includes(NEW))),
        [],
        'the old MAC has no lease, and no other MAC holds the address',
      );

      const vm = await wait('deb-fixed: the connectivity check', async () => {
        const v = await getVm(server.client, 'deb-fixed');
        return conditionOf(v, 'ConnectivityCheck') && v;
      });
      const check = conditionOf(vm, 'ConnectivityCheck')!;
      assert.equal(check.status, 'True', check.message);
      assert.match(check.message ?? '', /its fixed address/);
      const result = vm.status!.connectivityCheck!.results[0]!;
      assert.equal(result.fixedAddress, FIXED, JSON.stringify(result));
      assert.deepEqual(result.lease, { ip: FIXED, macAddress: NEW });
      assert.ok(await reaches(server.client, 'deb-fixed', GATEWAY), 'it reaches its gateway');
    });

    test("deleting the VM gives the address back: dnsmasq's reservation goes, and a new VM may claim it", async () => {
      await server.client.delete('VirtualMachine', { namespace: NS, name: 'deb-fixed' });
      await waitFor(() => dnsmasqFile('hosts') === '', {
        timeoutMs: 180_000,
        message: `the reservation removed: ${dnsmasqFile('hosts')}`,
      });
      await waitFor(
        async () =>
          server.client
            .create(
              'VirtualMachine',
              { namespace: NS },
              virtualMachine('deb-next', { runStrategy: 'Halted', annotations: { [KEY]: FIXED } }),
            )
            .then(() => true),
        { timeoutMs: 60_000, message: 'a new VM claims the address' },
      );
    });
  },
);
