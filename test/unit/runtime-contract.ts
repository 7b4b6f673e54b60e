// The Runtime contract as a reusable node:test suite: every runtime (sim here, qemu in test/e2e) registers it and must
// pass it unchanged, as the store contract is for stores. One guest boot for the whole suite keeps it short on QEMU.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cidrContains, parseCidr, parseIpv4 } from '../../src/ip/ipv4.ts';
import type {
  GuestObservation,
  GuestSpec,
  NetworkSpec,
  PodNetworkRequest,
  Runtime,
  RuntimeEvent,
} from '../../src/runtime/types.ts';

export interface RuntimeUnderTest {
  runtime: Runtime;
  /** Closes the runtime and removes whatever open() created. */
  cleanup: () => Promise<void>;
}

export interface RuntimeContractOptions {
  /** How long a guest may take from startGuest to its agent reporting an address (TCG on a busy host: long). */
  bootTimeoutMs: number;
}

const network: NetworkSpec = {
  id: 'rc1',
  name: 'default/contract',
  cidr: '198.18.77.0/24',
  gateway: '198.18.77.1',
  dhcpRange: { start: '198.18.77.10', end: '198.18.77.99' },
};
const MAC = '02:c0:ff:ee:00:01';
const OTHER_MAC = '02:c0:ff:ee:00:99';
const podRequest: PodNetworkRequest = {
  podUid: 'rc-pod-1',
  namespace: 'default',
  podName: 'virt-launcher-contract-x',
  interfaces: [
    { name: 'default', network, podInterfaceName: 'pod0c0ffee', mac: MAC, binding: 'bridge' },
  ],
};
const guestSpec: GuestSpec = {
  vmiUid: 'rc-vmi-1',
  podUid: podRequest.podUid,
  namespace: 'default',
  name: 'contract',
  cpus: 1,
  memoryMiB: 128,
  nics: [{ name: 'default', mac: MAC, podInterfaceName: 'pod0c0ffee', networkId: network.id }],
};

/** Polls `probe` until it returns a value; fails naming `what` after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ipv4Of = (observation: GuestObservation | undefined, mac: string): string | undefined =>
  observation?.agent?.interfaces
    .find((nic) => nic.mac === mac)
    ?.ipAddresses.find((ip) => parseIpv4(ip) !== undefined);

export function runtimeContract(
  name: string,
  open: () => Promise<RuntimeUnderTest>,
  options: RuntimeContractOptions,
): void {
  describe(`Runtime contract: ${name}`, () => {
    let under: RuntimeUnderTest | undefined;
    const events: RuntimeEvent[] = [];
    const rt = (): Runtime => {
      assert.ok(under, 'runtime not opened');
      return under.runtime;
    };

    before(async () => {
      under = await open();
      under.runtime.subscribe((event) => events.push(event));
    });
    after(async () => {
      await under?.cleanup();
    });

    it('refuses a network outside 198.18.0.0/15, a host address outside its CIDR or a bad VLAN, naming the field, and creates nothing', async () => {
      await assert.rejects(
        rt().ensureNetwork({ ...network, cidr: '10.0.0.0/24', gateway: '10.0.0.1' }),
        /network\.cidr 10\.0\.0\.0\/24/,
      );
      await assert.rejects(
        rt().ensureNetwork({ ...network, gateway: '198.18.78.1' }),
        /network\.gateway 198\.18\.78\.1 is not a host address/,
      );
      await assert.rejects(rt().ensureNetwork({ ...network, vlan: 4095 }), /network\.vlan 4095/);
      await assert.rejects(
        rt().ensureNetwork({
          ...network,
          dhcpRange: { start: '198.18.77.010', end: '198.18.77.99' },
        }),
        /network\.dhcpRange\.start "198\.18\.77\.010" is not an IPv4 address/,
      );
      assert.ok(!(await rt().inventory()).networks.includes(network.id));
    });

    it('ensureNetwork and setupPod are idempotent, show in the inventory and go with removeNetwork and teardownPod', async () => {
      const spare: NetworkSpec = {
        ...network,
        id: 'rc2',
        cidr: '198.18.76.0/24',
        gateway: '198.18.76.1',
        dhcpRange: { start: '198.18.76.10', end: '198.18.76.20' },
      };
      const sparePod: PodNetworkRequest = {
        ...podRequest,
        podUid: 'rc-pod-2',
        interfaces: [{ ...podRequest.interfaces[0]!, network: spare, mac: OTHER_MAC }],
      };
      await rt().ensureNetwork(spare);
      await rt().ensureNetwork(spare);
      const statuses = await rt().setupPod(sparePod);
      assert.deepEqual(
        statuses.map(({ name, networkName, podInterfaceName, mac }) => ({
          name,
          networkName,
          podInterfaceName,
          mac,
        })),
        [
          {
            name: 'default',
            networkName: spare.name,
            podInterfaceName: 'pod0c0ffee',
            mac: OTHER_MAC,
          },
        ],
      );
      assert.deepEqual(await rt().setupPod(sparePod), statuses, 'setupPod is idempotent');
      let inventory = await rt().inventory();
      assert.ok(inventory.networks.includes(spare.id) && inventory.pods.includes(sparePod.podUid));
      await rt().teardownPod(sparePod.podUid);
      await rt().teardownPod(sparePod.podUid);
      await rt().removeNetwork(spare.id);
      inventory = await rt().inventory();
      assert.ok(!inventory.networks.includes(spare.id), 'removeNetwork removed the network');
      assert.ok(!inventory.pods.includes(sparePod.podUid), 'teardownPod removed the pod');
      assert.deepEqual(await rt().leases(spare.id), []);
    });

    it('a guest runs with its device MAC, holds a DHCP lease for it in the range, and runs commands through its agent', async () => {
      await rt().ensureNetwork(network);
      await rt().setupPod(podRequest);
      await rt().startGuest(guestSpec);
      assert.equal(rt().hasGuest(guestSpec.vmiUid), true);
      assert.deepEqual((await rt().inventory()).guests.includes(guestSpec.vmiUid), true);
      const observation = await waitFor(
        'the guest agent with an IPv4 address',
        options.bootTimeoutMs,
        async () => {
          const o = await rt().observe(guestSpec.vmiUid);
          return ipv4Of(o, MAC) ? o : undefined;
        },
      );
      assert.equal(observation.state, 'Running');
      assert.deepEqual(observation.nics, [{ name: 'default', deviceMac: MAC, guestMac: MAC }]);
      const ip = ipv4Of(observation, MAC)!;
      const range = parseCidr(network.cidr)!;
      assert.ok(cidrContains(range, parseIpv4(ip)!), `${ip} inside ${network.cidr}`);
      const lease = await waitFor('the lease', 10_000, async () =>
        (await rt().leases(network.id)).find((l) => l.mac === MAC),
      );
      assert.equal(lease.ip, ip);
      assert.deepEqual(await rt().exec(guestSpec.vmiUid, ['cat', '/sys/class/net/eth0/address']), {
        exitCode: 0,
        stdout: `${MAC}\n`,
        stderr: '',
      });
      const ping = async (address: string): Promise<number> =>
        (await rt().exec(guestSpec.vmiUid, ['ping', '-c', '1', '-W', '2', address])).exitCode;
      const counters = async () => {
        const nics = await rt().nicStatistics(guestSpec.vmiUid);
        assert.deepEqual(
          nics?.map((n) => n.name),
          ['default'],
        );
        return nics![0]!;
      };
      const beforePing = await counters();
      assert.ok(beforePing.rxPackets > 0 && beforePing.txPackets > 0, 'DHCP went both ways');
      assert.equal(await ping(network.gateway), 0, 'the gateway answers');
      // The echo request went out and its reply came in (an ARP exchange may come with them).
      const afterPing = await counters();
      assert.ok(afterPing.txPackets > beforePing.txPackets, 'sent counted');
      assert.ok(afterPing.rxPackets > beforePing.rxPackets, 'received counted');
      assert.ok(afterPing.txBytes >= beforePing.txBytes + 98, 'an echo frame is at least 98 bytes');
      assert.equal(await ping('198.18.77.250'), 1, 'an address nobody holds does not');
    });

    it('an in-guest MAC change shows as the guest MAC while the device MAC stays, with a guest-changed event', async () => {
      events.length = 0;
      const set = await rt().exec(guestSpec.vmiUid, [
        'ip',
        'link',
        'set',
        'eth0',
        'address',
        OTHER_MAC,
      ]);
      assert.equal(set.exitCode, 0, set.stderr);
      await waitFor('guest-changed', 10_000, async () =>
        events.find((e) => e.type === 'guest-changed' && e.vmiUid === guestSpec.vmiUid),
      );
      const observation = await waitFor('the new guest MAC in observe', 10_000, async () => {
        const o = await rt().observe(guestSpec.vmiUid);
        return o?.nics[0]?.guestMac === OTHER_MAC ? o : undefined;
      });
      assert.deepEqual(observation.nics, [
        { name: 'default', deviceMac: MAC, guestMac: OTHER_MAC },
      ]);
    });

    it('stopGuest stops the guest with guest-stopped, is idempotent, and exec is then refused', async () => {
      events.length = 0;
      await rt().stopGuest(guestSpec.vmiUid, { graceMs: 20_000 });
      const stopped = await rt().observe(guestSpec.vmiUid);
      assert.equal(stopped?.state, 'Stopped');
      assert.equal(stopped?.agent, undefined);
      await waitFor('guest-stopped', 10_000, async () =>
        events.find((e) => e.type === 'guest-stopped' && e.vmiUid === guestSpec.vmiUid),
      );
      await rt().stopGuest(guestSpec.vmiUid);
      await assert.rejects(rt().exec(guestSpec.vmiUid, ['true']));
      assert.equal(
        await rt().nicStatistics(guestSpec.vmiUid),
        undefined,
        'no counters when stopped',
      );
      await rt().teardownPod(podRequest.podUid);
      assert.ok(!(await rt().inventory()).pods.includes(podRequest.podUid));
    });

    it('of a guest it does not have: observe is undefined, hasGuest false, exec and openConsole refuse', async () => {
      assert.equal(await rt().observe('rc-none'), undefined);
      assert.equal(rt().hasGuest('rc-none'), false);
      assert.equal(await rt().nicStatistics('rc-none'), undefined);
      assert.equal(await rt().consoleLog('rc-none'), undefined);
      await assert.rejects(rt().exec('rc-none', ['true']));
      await assert.rejects(
        rt().openConsole('rc-none', { onData: () => undefined, onClose: () => undefined }),
      );
      await rt().stopGuest('rc-none');
    });

    it('a blank persistent disk is made once at least its size, listed, and deleted (twice without error)', async () => {
      const id = 'rc-disk-1';
      const size = 4 * 1024 * 1024;
      const made = await rt().createDisk({ id, capacityBytes: size, content: { type: 'blank' } });
      assert.ok(made.capacityBytes >= size, `${made.capacityBytes} bytes`);
      assert.deepEqual(
        await rt().createDisk({ id, capacityBytes: size, content: { type: 'blank' } }),
        made,
      );
      assert.ok((await rt().listDisks()).includes(id));
      await rt().deleteDisk(id);
      await rt().deleteDisk(id);
      assert.ok(!(await rt().listDisks()).includes(id));
    });
  });
}
