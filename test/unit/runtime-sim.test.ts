// The sim runtime: a small L2 world whose guests behave like the qemu runtime's busybox guests.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  createSimRuntime,
  type SimRuntime,
  type SimRuntimeOptions,
} from '../../src/runtime/sim/index.ts';
import type { NetworkSpec, RuntimeEvent } from '../../src/runtime/types.ts';

const network = (n: number, range: [number, number] = [10, 200]): NetworkSpec => ({
  id: `net${n}`,
  name: `default/net${n}`,
  cidr: `198.18.${n}.0/24`,
  gateway: `198.18.${n}.1`,
  dhcpRange: { start: `198.18.${n}.${range[0]}`, end: `198.18.${n}.${range[1]}` },
});

const runtimes: SimRuntime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.close();
});

function sim(options: SimRuntimeOptions = {}): SimRuntime {
  const rt = createSimRuntime({ bootMs: 5, ...options });
  runtimes.push(rt);
  return rt;
}

function recorder(rt: SimRuntime): RuntimeEvent[] {
  const events: RuntimeEvent[] = [];
  rt.subscribe((e) => events.push(e));
  return events;
}

/** Resolves once the guest's agent is connected (boot finished, DHCP done). */
async function booted(rt: SimRuntime, vmiUid: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${vmiUid} did not boot`)), 30_000);
    const check = async (): Promise<void> => {
      if ((await rt.observe(vmiUid))?.agent) {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    };
    const unsubscribe = rt.subscribe((e) => {
      if (e.vmiUid === vmiUid) void check();
    });
    void check();
  });
}

interface Launched {
  vmiUid: string;
  podUid: string;
}

async function launch(
  rt: SimRuntime,
  vm: string,
  nics: { mac: string; net: NetworkSpec }[],
): Promise<Launched> {
  const podUid = `pod-${vm}`;
  const vmiUid = `vmi-${vm}`;
  await rt.setupPod({
    podUid,
    namespace: 'default',
    podName: `virt-launcher-${vm}-abcde`,
    interfaces: nics.map((n, i) => ({
      name: `nic${i}`,
      network: n.net,
      podInterfaceName: `pod${i}`,
      mac: n.mac,
      binding: 'bridge' as const,
    })),
  });
  await rt.startGuest({
    vmiUid,
    podUid,
    namespace: 'default',
    name: vm,
    cpus: 1,
    memoryMiB: 128,
    nics: nics.map((n, i) => ({
      name: `nic${i}`,
      mac: n.mac,
      podInterfaceName: `pod${i}`,
      networkId: n.net.id,
    })),
  });
  return { vmiUid, podUid };
}

async function bootedGuest(
  rt: SimRuntime,
  vm: string,
  mac: string,
  net: NetworkSpec,
): Promise<Launched & { ip: string }> {
  const launched = await launch(rt, vm, [{ mac, net }]);
  await booted(rt, launched.vmiUid);
  return { ...launched, ip: await ipOf(rt, launched.vmiUid) };
}

async function ipOf(rt: SimRuntime, vmiUid: string, nic = 0): Promise<string> {
  const ips = (await rt.observe(vmiUid))?.agent?.interfaces[nic]?.ipAddresses ?? [];
  assert.equal(ips.length, 1, `expected one address on eth${nic}, got ${JSON.stringify(ips)}`);
  return ips[0] ?? '';
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('sim runtime: boot and DHCP', () => {
  it('a booted guest holds a DHCP lease for its MAC and its agent reports eth0 with that address', async () => {
    const now = Date.parse('2025-06-14T00:00:00Z');
    const rt = sim({ clock: () => now });
    const events = recorder(rt);
    const net = network(3);
    await rt.ensureNetwork(net);
    const { vmiUid } = await launch(rt, 'vm1', [{ mac: '02:AA:00:00:00:01', net }]);

    const starting = await rt.observe(vmiUid);
    assert.equal(starting?.state, 'Starting');
    assert.equal(rt.hasGuest(vmiUid), true);
    assert.equal(rt.hasGuest('no-such-vmi'), false);
    assert.equal(starting?.agent, undefined);
    await assert.rejects(rt.exec(vmiUid, ['ip', 'link']), /not connected/);

    await booted(rt, vmiUid);
    const running = await rt.observe(vmiUid);
    assert.equal(running?.state, 'Running');
    assert.deepEqual(running?.nics, [
      { name: 'nic0', deviceMac: '02:aa:00:00:00:01', guestMac: '02:aa:00:00:00:01' },
    ]);
    assert.deepEqual(running?.agent?.interfaces, [
      { interfaceName: 'eth0', mac: '02:aa:00:00:00:01', ipAddresses: ['198.18.3.10'] },
    ]);
    assert.deepEqual(await rt.leases(net.id), [
      {
        mac: '02:aa:00:00:00:01',
        ip: '198.18.3.10',
        expires: new Date(now + 3600_000).toISOString(),
      },
    ]);
    await settle();
    assert.deepEqual(events, [{ type: 'guest-changed', vmiUid }]);
  });

  it('the lease is bound to the MAC: the same MAC gets the same address again, another MAC another one', async () => {
    const rt = sim();
    const net = network(4);
    await rt.ensureNetwork(net);
    const first = await bootedGuest(rt, 'vm1', '02:00:00:00:04:01', net);
    const other = await bootedGuest(rt, 'vm2', '02:00:00:00:04:02', net);
    assert.notEqual(other.ip, first.ip);

    await rt.stopGuest(first.vmiUid);
    await rt.teardownPod(first.podUid);
    const again = await bootedGuest(rt, 'vm3', '02:00:00:00:04:01', net);
    assert.equal(again.ip, first.ip);
    assert.deepEqual(
      (await rt.leases(net.id)).map((l) => [l.mac, l.ip]),
      [
        ['02:00:00:00:04:01', first.ip],
        ['02:00:00:00:04:02', other.ip],
      ],
    );
    // Looked up by MAC: only the leases asked for (a MAC with none adds nothing, one asked twice comes once).
    assert.deepEqual(
      (
        await rt.leases(net.id, ['02:00:00:00:04:02', '02:00:00:00:04:99', '02:00:00:00:04:02'])
      ).map((l) => [l.mac, l.ip]),
      [['02:00:00:00:04:02', other.ip]],
    );
  });

  it('a guest with two NICs gets eth0 and eth1 in NIC order, each with a lease on its own network', async () => {
    const rt = sim();
    const [a, b] = [network(5), network(6)];
    await rt.ensureNetwork(a);
    await rt.ensureNetwork(b);
    const { vmiUid } = await launch(rt, 'vm1', [
      { mac: '02:00:00:00:05:01', net: a },
      { mac: '02:00:00:00:06:01', net: b },
    ]);
    await booted(rt, vmiUid);
    assert.deepEqual((await rt.observe(vmiUid))?.agent?.interfaces, [
      { interfaceName: 'eth0', mac: '02:00:00:00:05:01', ipAddresses: ['198.18.5.10'] },
      { interfaceName: 'eth1', mac: '02:00:00:00:06:01', ipAddresses: ['198.18.6.10'] },
    ]);
    assert.equal((await rt.exec(vmiUid, ['ping', '-c', '1', '198.18.6.1'])).exitCode, 0);
    // Only eth1's frames carry a changed MAC: eth0's network still answers.
    await rt.exec(vmiUid, ['ip', 'link', 'set', 'eth1', 'address', '02:00:00:00:06:99']);
    assert.equal((await rt.exec(vmiUid, ['ping', '-c', '1', '198.18.6.1'])).exitCode, 1);
    assert.equal((await rt.exec(vmiUid, ['ping', '-c', '1', '198.18.5.1'])).exitCode, 0);
    assert.equal(
      (await rt.exec(vmiUid, ['ping', '-c', '1', '-I', 'eth1', '198.18.5.1'])).exitCode,
      1,
    );
  });
});

describe('sim runtime: an in-guest MAC change', () => {
  it('shows in the guest, not on the platform; the gateway stops answering and DHCP fails', async () => {
    const rt = sim();
    const events = recorder(rt);
    const net = network(7);
    await rt.ensureNetwork(net);
    const guest = await bootedGuest(rt, 'vm1', '02:00:00:00:07:01', net);
    assert.equal((await rt.exec(guest.vmiUid, ['ping', '-c', '2', net.gateway])).exitCode, 0);
    await settle();
    events.length = 0;

    const change = await rt.exec(guest.vmiUid, [
      'ip',
      'link',
      'set',
      'eth0',
      'address',
      '02:00:00:00:07:99',
    ]);
    assert.deepEqual(change, { exitCode: 0, stdout: '', stderr: '' });
    await settle();
    assert.deepEqual(events, [{ type: 'guest-changed', vmiUid: guest.vmiUid }]);

    const seen = await rt.observe(guest.vmiUid);
    assert.deepEqual(seen?.nics, [
      { name: 'nic0', deviceMac: '02:00:00:00:07:01', guestMac: '02:00:00:00:07:99' },
    ]);
    // The address stays configured: only the frames are dropped.
    assert.deepEqual(seen?.agent?.interfaces, [
      { interfaceName: 'eth0', mac: '02:00:00:00:07:99', ipAddresses: [guest.ip] },
    ]);
    assert.equal(
      (await rt.exec(guest.vmiUid, ['cat', '/sys/class/net/eth0/address'])).stdout,
      '02:00:00:00:07:99\n',
    );

    const ping = await rt.exec(guest.vmiUid, ['ping', '-c', '3', '-W', '1', net.gateway]);
    assert.equal(ping.exitCode, 1);
    assert.match(ping.stdout, /3 packets transmitted, 0 packets received, 100% packet loss/);

    const dhcp = await rt.exec(guest.vmiUid, ['udhcpc', '-i', 'eth0', '-n', '-q', '-t', '2']);
    assert.equal(dhcp.exitCode, 1);
    assert.equal(
      dhcp.stderr,
      'udhcpc: started, v1.35.0\nudhcpc: broadcasting discover\nudhcpc: broadcasting discover\nudhcpc: no lease, failing\n',
    );
    // udhcpc deconfigured the interface before asking; nothing came back.
    assert.deepEqual((await rt.observe(guest.vmiUid))?.agent?.interfaces[0]?.ipAddresses, []);
    assert.ok(!(await rt.leases(net.id)).some((l) => l.mac === '02:00:00:00:07:99'));
    const unreachable = await rt.exec(guest.vmiUid, ['ping', '-c', '1', net.gateway]);
    assert.deepEqual(unreachable, {
      exitCode: 1,
      stdout: `PING ${net.gateway} (${net.gateway}): 56 data bytes\n`,
      stderr: 'ping: sendto: Network is unreachable\n',
    });
  });

  it('reverts on reboot: the device MAC comes back, DHCP gives the same address, the gateway answers', async () => {
    const rt = sim();
    const events = recorder(rt);
    const net = network(8);
    await rt.ensureNetwork(net);
    const guest = await bootedGuest(rt, 'vm1', '02:00:00:00:08:01', net);
    await rt.exec(guest.vmiUid, ['ip', 'link', 'set', 'eth0', 'address', '02:00:00:00:08:99']);
    await rt.exec(guest.vmiUid, ['udhcpc', '-i', 'eth0', '-n', '-q']);
    await settle();
    events.length = 0;

    assert.deepEqual(await rt.exec(guest.vmiUid, ['reboot']), {
      exitCode: 0,
      stdout: '',
      stderr: '',
    });
    const rebooting = await rt.observe(guest.vmiUid);
    assert.equal(rebooting?.state, 'Running');
    assert.equal(rebooting?.agent, undefined);
    assert.deepEqual(rebooting?.nics, [
      { name: 'nic0', deviceMac: '02:00:00:00:08:01', guestMac: '02:00:00:00:08:01' },
    ]);
    await assert.rejects(
      rt.exec(guest.vmiUid, ['ip', 'link']),
      /not connected \(the guest is booting\)/,
    );

    await booted(rt, guest.vmiUid);
    assert.deepEqual((await rt.observe(guest.vmiUid))?.agent?.interfaces, [
      { interfaceName: 'eth0', mac: '02:00:00:00:08:01', ipAddresses: [guest.ip] },
    ]);
    assert.equal((await rt.exec(guest.vmiUid, ['ping', '-c', '1', net.gateway])).exitCode, 0);
    await settle();
    assert.deepEqual(events, [
      { type: 'guest-changed', vmiUid: guest.vmiUid },
      { type: 'guest-changed', vmiUid: guest.vmiUid },
    ]);
  });

  it('setting the assigned MAC back restores traffic at once, since the address was kept', async () => {
    const rt = sim();
    const net = network(9);
    await rt.ensureNetwork(net);
    const guest = await bootedGuest(rt, 'vm1', '02:00:00:00:09:01', net);
    await rt.exec(guest.vmiUid, [
      'ip',
      'link',
      'set',
      'dev',
      'eth0',
      'address',
      '02:00:00:00:09:99',
    ]);
    assert.equal((await rt.exec(guest.vmiUid, ['ping', '-c', '1', net.gateway])).exitCode, 1);
    await rt.exec(guest.vmiUid, [
      'ip',
      'link',
      'set',
      'dev',
      'eth0',
      'address',
      '02:00:00:00:09:01',
    ]);
    assert.equal((await rt.exec(guest.vmiUid, ['ping', '-c', '1', net.gateway])).exitCode, 0);
  });

  it('two guests on one network reach each other until either one changes its MAC', async () => {
    const rt = sim();
    const net = network(10);
    await rt.ensureNetwork(net);
    const a = await bootedGuest(rt, 'vm-a', '02:00:00:00:0a:01', net);
    const b = await bootedGuest(rt, 'vm-b', '02:00:00:00:0a:02', net);

    const ab = await rt.exec(a.vmiUid, ['ping', '-c', '2', b.ip]);
    assert.equal(ab.exitCode, 0);
    assert.match(
      ab.stdout,
      new RegExp(
        `^PING ${b.ip} \\(${b.ip}\\): 56 data bytes\\n64 bytes from ${b.ip}: seq=0 ttl=64 time=`,
      ),
    );
    assert.match(
      ab.stdout,
      /2 packets transmitted, 2 packets received, 0% packet loss\nround-trip min\/avg\/max = [0-9.]+\/[0-9.]+\/[0-9.]+ ms\n$/,
    );
    assert.equal((await rt.exec(b.vmiUid, ['ping', '-c', '1', a.ip])).exitCode, 0);

    await rt.exec(b.vmiUid, ['ip', 'link', 'set', 'eth0', 'address', '02:00:00:00:0a:77']);
    assert.equal(
      (await rt.exec(a.vmiUid, ['ping', '-c', '1', b.ip])).exitCode,
      1,
      'replies from b are dropped',
    );
    assert.equal(
      (await rt.exec(b.vmiUid, ['ping', '-c', '1', a.ip])).exitCode,
      1,
      'requests from b are dropped',
    );
    assert.equal((await rt.exec(a.vmiUid, ['ping', '-c', '1', net.gateway])).exitCode, 0);
    assert.equal(
      (await rt.exec(a.vmiUid, ['ping', '-c', '1', '198.18.10.250'])).exitCode,
      1,
      'nobody holds that address',
    );
  });

  it("a guest that takes another guest's MAC reaches nothing, and the other guest is unaffected", async () => {
    const rt = sim();
    const net = network(11);
    await rt.ensureNetwork(net);
    const thief = await bootedGuest(rt, 'vm-thief', '02:00:00:00:0b:01', net);
    const victim = await bootedGuest(rt, 'vm-victim', '02:00:00:00:0b:02', net);
    await rt.exec(thief.vmiUid, ['ip', 'link', 'set', 'eth0', 'address', '02:00:00:00:0b:02']);

    assert.equal((await rt.exec(thief.vmiUid, ['ping', '-c', '1', net.gateway])).exitCode, 1);
    assert.equal((await rt.exec(thief.vmiUid, ['ping', '-c', '1', victim.ip])).exitCode, 1);
    assert.equal(
      (await rt.exec(thief.vmiUid, ['udhcpc', '-n', '-q'])).exitCode,
      1,
      "the victim's lease is not handed to the thief",
    );
    assert.equal((await rt.exec(victim.vmiUid, ['ping', '-c', '1', net.gateway])).exitCode, 0);
    assert.equal((await rt.exec(victim.vmiUid, ['udhcpc', '-i', 'eth0', '-n', '-q'])).exitCode, 0);
    assert.equal(await ipOf(rt, victim.vmiUid), victim.ip);
  });
});

describe('sim runtime: busybox commands', () => {
  async function oneGuest(): Promise<{
    rt: SimRuntime;
    vmiUid: string;
    ip: string;
    net: NetworkSpec;
  }> {
    const rt = sim();
    const net = network(12);
    await rt.ensureNetwork(net);
    const guest = await bootedGuest(rt, 'vm1', '02:00:00:00:0c:01', net);
    return { rt, vmiUid: guest.vmiUid, ip: guest.ip, net };
  }

  it('ip link set rejects bad addresses with busybox messages and leaves the MAC alone', async () => {
    const { rt, vmiUid } = await oneGuest();
    const cases: [string[], number, string][] = [
      [['ip', 'link', 'set', 'eth0', 'address', 'zz'], 1, 'ip: "zz" is invalid lladdr\n'],
      [
        ['ip', 'link', 'set', 'eth0', 'address', '02:00:zz:00:00:01'],
        1,
        'ip: "zz" is invalid lladdr\n',
      ],
      [
        ['ip', 'link', 'set', 'eth0', 'address', '02:00'],
        2,
        'ip: wrong address (02) length: expected 6 bytes\n',
      ],
      [
        ['ip', 'link', 'set', 'eth0', 'address', '02-00-00-00-00-0b'],
        2,
        'ip: wrong address (02-00-00-00-00-0b) length: expected 6 bytes\n',
      ],
      [
        ['ip', 'link', 'set', 'eth0', 'address', '01:00:5e:00:00:01'],
        2,
        'ip: SIOCSIFHWADDR: Cannot assign requested address\n',
      ],
      [
        ['ip', 'link', 'set', 'eth0', 'address', 'ff:ff:ff:ff:ff:ff'],
        2,
        'ip: SIOCSIFHWADDR: Cannot assign requested address\n',
      ],
      [
        ['ip', 'link', 'set', 'eth0', 'address', '00:00:00:00:00:00'],
        2,
        'ip: SIOCSIFHWADDR: Cannot assign requested address\n',
      ],
      [
        ['ip', 'link', 'set', 'eth9', 'address', '02:00:00:00:00:01'],
        2,
        'ip: SIOCGIFINDEX: No such device\n',
      ],
      [
        ['ip', 'link', 'set', 'eth0', 'address'],
        2,
        'ip: command line is not complete, try "help"\n',
      ],
      [['ip', 'link', 'set'], 2, 'ip: "dev" requires an argument\n'],
    ];
    for (const [argv, exitCode, stderr] of cases) {
      assert.deepEqual(
        await rt.exec(vmiUid, argv),
        { exitCode, stdout: '', stderr },
        argv.join(' '),
      );
    }
    assert.equal((await rt.observe(vmiUid))?.nics[0]?.guestMac, '02:00:00:00:0c:01');
    // busybox reads each byte with %x, so short hex digits are fine.
    assert.equal(
      (await rt.exec(vmiUid, ['ip', 'link', 'set', 'eth0', 'address', '2:0:0:0:C:d'])).exitCode,
      0,
    );
    assert.equal((await rt.observe(vmiUid))?.nics[0]?.guestMac, '02:00:00:00:0c:0d');
  });

  it('ip link, ip addr and cat print what busybox prints', async () => {
    const { rt, vmiUid, ip } = await oneGuest();
    const lo = '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\n';
    const eth0 = '2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast qlen 1000\n';
    const ether = '    link/ether 02:00:00:00:0c:01 brd ff:ff:ff:ff:ff:ff\n';
    const inet = `    inet ${ip}/24 scope global eth0\n       valid_lft forever preferred_lft forever\n`;
    assert.equal(
      (await rt.exec(vmiUid, ['ip', 'link'])).stdout,
      `${lo}    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n${eth0}${ether}`,
    );
    assert.equal((await rt.exec(vmiUid, ['ip', 'link', 'show', 'eth0'])).stdout, eth0 + ether);
    assert.equal((await rt.exec(vmiUid, ['ip', '-4', 'addr', 'show', 'eth0'])).stdout, eth0 + inet);
    assert.equal((await rt.exec(vmiUid, ['ip', 'a'])).stdout.endsWith(eth0 + ether + inet), true);
    assert.deepEqual(await rt.exec(vmiUid, ['ip', 'link', 'show', 'eth7']), {
      exitCode: 2,
      stdout: '',
      stderr: "ip: can't find device 'eth7'\n",
    });
    assert.deepEqual(await rt.exec(vmiUid, ['cat', '/sys/class/net/eth0/address']), {
      exitCode: 0,
      stdout: '02:00:00:00:0c:01\n',
      stderr: '',
    });
    assert.deepEqual(await rt.exec(vmiUid, ['cat', '/sys/class/net/eth3/address']), {
      exitCode: 1,
      stdout: '',
      stderr: "cat: can't open '/sys/class/net/eth3/address': No such file or directory\n",
    });

    await rt.exec(vmiUid, ['ip', 'link', 'set', 'eth0', 'down']);
    assert.equal(
      (await rt.exec(vmiUid, ['ip', 'link', 'show', 'eth0'])).stdout.split('\n')[0],
      '2: eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc pfifo_fast qlen 1000',
    );
    assert.equal(
      (await rt.exec(vmiUid, ['ping', '-c', '1', '-I', 'eth0', '198.18.12.1'])).exitCode,
      1,
      'a down link sends nothing',
    );
  });

  it('udhcpc renews the lease for the MAC and prints busybox messages', async () => {
    let now = Date.parse('2025-06-14T00:00:00Z');
    const rt = sim({ clock: () => now, dhcpLeaseSeconds: 600 });
    const net = network(13);
    await rt.ensureNetwork(net);
    const guest = await bootedGuest(rt, 'vm1', '02:00:00:00:0d:01', net);
    now += 100_000;
    const renewed = await rt.exec(guest.vmiUid, ['/sbin/udhcpc', '-i', 'eth0', '-nq']);
    assert.deepEqual(renewed, {
      exitCode: 0,
      stdout: '',
      stderr:
        'udhcpc: started, v1.35.0\nudhcpc: broadcasting discover\n' +
        `udhcpc: broadcasting select for ${guest.ip}, server ${net.gateway}\n` +
        `udhcpc: lease of ${guest.ip} obtained from ${net.gateway}, lease time 600\n`,
    });
    assert.deepEqual(await rt.leases(net.id), [
      { mac: '02:00:00:00:0d:01', ip: guest.ip, expires: new Date(now + 600_000).toISOString() },
    ]);
    assert.deepEqual(await rt.exec(guest.vmiUid, ['udhcpc', '-i', 'eth4', '-n']), {
      exitCode: 1,
      stdout: '',
      stderr: 'udhcpc: SIOCGIFINDEX: No such device\n',
    });
  });

  it('sh -c runs ; && || lists, busybox prefixes work, unknown commands exit 127', async () => {
    const { rt, vmiUid, net } = await oneGuest();
    const script = await rt.exec(vmiUid, [
      'sh',
      '-c',
      `ip link set eth0 address 02:00:00:00:0c:55 && cat /sys/class/net/eth0/address; nosuch || ping -c 1 ${net.gateway}`,
    ]);
    assert.equal(script.exitCode, 1);
    assert.ok(script.stdout.startsWith('02:00:00:00:0c:55\nPING '));
    assert.equal(script.stderr, 'sh: nosuch: not found\n');
    assert.equal(
      (await rt.exec(vmiUid, ['busybox', 'cat', '/sys/class/net/eth0/address'])).stdout,
      '02:00:00:00:0c:55\n',
    );
    assert.deepEqual(await rt.exec(vmiUid, ['vi', '/etc/network/interfaces']), {
      exitCode: 127,
      stdout: '',
      stderr: 'sh: vi: not found\n',
    });
    assert.deepEqual(await rt.exec(vmiUid, ['ping', '-c', '1', 'gateway.local']), {
      exitCode: 1,
      stdout: '',
      stderr: "ping: bad address 'gateway.local'\n",
    });
    assert.equal(
      (await rt.exec(vmiUid, ['sh', '-c', 'echo x | tee /tmp/y'])).exitCode,
      2,
      'pipes are refused, not faked',
    );
  });
});

describe('sim runtime: guest lifecycle', () => {
  it('exec needs a running guest whose agent is connected', async () => {
    const rt = sim();
    const net = network(14);
    await rt.ensureNetwork(net);
    await assert.rejects(rt.exec('vmi-none', ['ip', 'link']), /no guest with vmi uid vmi-none/);
    const guest = await bootedGuest(rt, 'vm1', '02:00:00:00:0e:01', net);
    await rt.stopGuest(guest.vmiUid);
    await assert.rejects(
      rt.exec(guest.vmiUid, ['ip', 'link']),
      /not connected \(the guest is Stopped\)/,
    );
  });

  it('stopGuest stops once with guest-stopped; crash fails the guest with guest-failed', async () => {
    const rt = sim();
    const events = recorder(rt);
    const net = network(15);
    await rt.ensureNetwork(net);
    const a = await bootedGuest(rt, 'vm-a', '02:00:00:00:0f:01', net);
    const b = await bootedGuest(rt, 'vm-b', '02:00:00:00:0f:02', net);
    await settle();
    events.length = 0;

    await rt.stopGuest(a.vmiUid);
    await rt.stopGuest(a.vmiUid, { graceMs: 10 });
    const stopped = await rt.observe(a.vmiUid);
    assert.equal(stopped?.state, 'Stopped');
    assert.equal(stopped?.reason, 'guest powered off');
    assert.equal(stopped?.agent, undefined);
    assert.equal(
      (await rt.exec(b.vmiUid, ['ping', '-c', '1', a.ip])).exitCode,
      1,
      'a stopped guest does not answer',
    );

    rt.crash(b.vmiUid);
    assert.deepEqual(await rt.observe(b.vmiUid), {
      state: 'Failed',
      reason: 'qemu process exited unexpectedly (simulated crash)',
      nics: [{ name: 'nic0', deviceMac: '02:00:00:00:0f:02', guestMac: '02:00:00:00:0f:02' }],
    });
    assert.throws(() => rt.crash(b.vmiUid), /is Failed, not running/);
    await settle();
    assert.deepEqual(events, [
      { type: 'guest-stopped', vmiUid: a.vmiUid, reason: 'guest powered off' },
      {
        type: 'guest-failed',
        vmiUid: b.vmiUid,
        reason: 'qemu process exited unexpectedly (simulated crash)',
      },
    ]);

    // Starting a stopped guest again boots it afresh with the same address.
    await rt.startGuest({
      vmiUid: a.vmiUid,
      podUid: a.podUid,
      namespace: 'default',
      name: 'vm-a',
      cpus: 1,
      memoryMiB: 128,
      nics: [
        { name: 'nic0', mac: '02:00:00:00:0f:01', podInterfaceName: 'pod0', networkId: net.id },
      ],
    });
    await booted(rt, a.vmiUid);
    assert.equal(await ipOf(rt, a.vmiUid), a.ip);
  });

  it('a stop during boot wins over the pending boot', async () => {
    const rt = sim({ bootMs: 20 });
    const net = network(16);
    await rt.ensureNetwork(net);
    const { vmiUid } = await launch(rt, 'vm1', [{ mac: '02:00:00:00:10:01', net }]);
    await rt.stopGuest(vmiUid);
    // Boots fall due in the order they were asked for: once a guest started after the stop has booted, vm1's pending
    // boot has come due too, and was dropped.
    await bootedGuest(rt, 'vm2', '02:00:00:00:10:02', net);
    assert.equal((await rt.observe(vmiUid))?.state, 'Stopped');
    assert.deepEqual(
      (await rt.leases(net.id)).map((l) => l.mac),
      ['02:00:00:00:10:02'],
      'only the marker guest ran DHCP',
    );
  });

  it('teardownPod takes the guest with it and frees the pod interface; inventory lists what exists', async () => {
    const rt = sim();
    const events = recorder(rt);
    const net = network(17);
    await rt.ensureNetwork(net);
    const guest = await bootedGuest(rt, 'vm1', '02:00:00:00:11:01', net);
    assert.deepEqual(await rt.inventory(), {
      networks: [net.id],
      pods: [guest.podUid],
      guests: [guest.vmiUid],
    });
    await rt.teardownPod(guest.podUid);
    await rt.teardownPod(guest.podUid);
    assert.deepEqual(await rt.inventory(), { networks: [net.id], pods: [], guests: [] });
    assert.equal(await rt.observe(guest.vmiUid), undefined);
    await settle();
    assert.deepEqual(events.at(-1), {
      type: 'guest-stopped',
      vmiUid: guest.vmiUid,
      reason: 'launcher pod deleted',
    });
  });
});

describe('sim runtime: pods and networks', () => {
  it('setupPod gives each pod interface the requested MAC, is idempotent, and refuses what a CNI would', async () => {
    const rt = sim();
    const net = network(18);
    await rt.ensureNetwork(net);
    const request = {
      podUid: 'pod-1',
      namespace: 'default',
      podName: 'virt-launcher-vm1-abcde',
      interfaces: [
        {
          name: 'default',
          network: net,
          podInterfaceName: 'pod6a1b2c3d4e5',
          mac: '02-AB-CD-00-00-01',
          binding: 'bridge' as const,
        },
      ],
    };
    const statuses = await rt.setupPod(request);
    assert.deepEqual(statuses, [
      {
        name: 'default',
        networkName: 'default/net18',
        podInterfaceName: 'pod6a1b2c3d4e5',
        mac: '02:ab:cd:00:00:01',
      },
    ]);
    assert.deepEqual(await rt.setupPod(request), statuses);
    await assert.rejects(
      rt.setupPod({
        ...request,
        interfaces: [{ ...request.interfaces[0]!, mac: '02:ab:cd:00:00:02' }],
      }),
      /already set up with other interfaces/,
    );

    const fresh = { ...request, podUid: 'pod-2' };
    await assert.rejects(
      rt.setupPod({ ...fresh, interfaces: [{ ...request.interfaces[0]!, mac: 'not-a-mac' }] }),
      /interfaces\[0\]\.mac 'not-a-mac' is not a MAC address/,
    );
    await assert.rejects(
      rt.setupPod({
        ...fresh,
        interfaces: [{ ...request.interfaces[0]!, mac: '01:00:5e:00:00:01' }],
      }),
      /interfaces\[0\]\.mac 01:00:5e:00:00:01 is multicast or zero/,
    );
    await assert.rejects(
      rt.setupPod({ ...fresh, interfaces: [{ ...request.interfaces[0]!, network: network(19) }] }),
      /interfaces\[0\]\.network default\/net19 \(net19\) does not exist/,
    );
    assert.deepEqual((await rt.inventory()).pods, ['pod-1']);

    await assert.rejects(
      rt.startGuest({
        vmiUid: 'v',
        podUid: 'pod-1',
        namespace: 'default',
        name: 'vm1',
        cpus: 1,
        memoryMiB: 64,
        nics: [
          {
            name: 'default',
            mac: '02:ab:cd:00:00:01',
            podInterfaceName: 'eth0',
            networkId: net.id,
          },
        ],
      }),
      /nics\[0\]\.podInterfaceName eth0 does not exist in pod pod-1/,
    );
  });

  it('a guest whose device MAC differs from its pod interface gets no lease', async () => {
    const rt = sim();
    const net = network(20);
    await rt.ensureNetwork(net);
    await rt.setupPod({
      podUid: 'p',
      namespace: 'default',
      podName: 'l',
      interfaces: [
        {
          name: 'n',
          network: net,
          podInterfaceName: 'pod0',
          mac: '02:00:00:00:14:01',
          binding: 'bridge',
        },
      ],
    });
    await rt.startGuest({
      vmiUid: 'v',
      podUid: 'p',
      namespace: 'default',
      name: 'vm',
      cpus: 1,
      memoryMiB: 64,
      nics: [{ name: 'n', mac: '02:00:00:00:14:02', podInterfaceName: 'pod0', networkId: net.id }],
    });
    await booted(rt, 'v');
    assert.deepEqual((await rt.observe('v'))?.agent?.interfaces[0]?.ipAddresses, []);
    assert.deepEqual(await rt.leases(net.id), []);
  });

  it('ensureNetwork validates the addressing and is idempotent; removeNetwork cuts the guests off', async () => {
    const rt = sim();
    const net = network(21);
    await assert.rejects(
      rt.ensureNetwork({ ...net, cidr: '10.0.0.0/24' }),
      /cidr 10\.0\.0\.0\/24 must be a \/15\.\.\/30 inside 198\.18\.0\.0\/15/,
    );
    await assert.rejects(
      rt.ensureNetwork({ ...net, cidr: '198.18.21.5/24' }),
      /network\.cidr "198\.18\.21\.5\/24" is not an IPv4 CIDR/,
    );
    await assert.rejects(
      rt.ensureNetwork({ ...net, gateway: '198.18.22.1' }),
      /gateway 198\.18\.22\.1 is not a host address of 198\.18\.21\.0\/24/,
    );
    await assert.rejects(
      rt.ensureNetwork({ ...net, dhcpRange: { start: '198.18.21.50', end: '198.18.21.40' } }),
      /network\.dhcpRange\.start 198\.18\.21\.50 is after network\.dhcpRange\.end/,
    );
    await assert.rejects(
      rt.ensureNetwork({ ...net, vlan: 4095 }),
      /network\.vlan 4095 must be an integer in 1\.\.4094/,
    );
    await rt.ensureNetwork(net);
    await rt.ensureNetwork(net);
    const guest = await bootedGuest(rt, 'vm1', '02:00:00:00:15:01', net);

    await rt.removeNetwork(net.id);
    assert.deepEqual(await rt.leases(net.id), []);
    assert.equal((await rt.exec(guest.vmiUid, ['ping', '-c', '1', net.gateway])).exitCode, 1);
    // A bridge re-created under the same id does not pick up the old ports.
    await rt.ensureNetwork(net);
    assert.equal((await rt.exec(guest.vmiUid, ['ping', '-c', '1', net.gateway])).exitCode, 1);
  });

  it('leases expire when nobody renews them, and only then is an address handed to another MAC', async () => {
    let now = Date.parse('2025-06-14T00:00:00Z');
    const rt = sim({ clock: () => now, dhcpLeaseSeconds: 60 });
    const net = network(22, [10, 11]);
    await rt.ensureNetwork(net);
    const a = await bootedGuest(rt, 'vm-a', '02:00:00:00:16:01', net);
    const b = await bootedGuest(rt, 'vm-b', '02:00:00:00:16:02', net);
    const c = await launch(rt, 'vm-c', [{ mac: '02:00:00:00:16:03', net }]);
    await booted(rt, c.vmiUid);
    assert.deepEqual(
      (await rt.observe(c.vmiUid))?.agent?.interfaces[0]?.ipAddresses,
      [],
      'the range is used up',
    );

    await rt.stopGuest(a.vmiUid);
    now += 45_000;
    // b is online, so its client renewed at T1; a's lease is still live.
    assert.deepEqual(
      (await rt.leases(net.id)).map((l) => [l.mac, l.expires]),
      [
        ['02:00:00:00:16:01', new Date(now - 45_000 + 60_000).toISOString()],
        ['02:00:00:00:16:02', new Date(now + 60_000).toISOString()],
      ],
    );
    assert.equal((await rt.exec(c.vmiUid, ['udhcpc', '-n', '-q'])).exitCode, 1);
    now += 30_000;
    assert.deepEqual(
      (await rt.leases(net.id)).map((l) => l.mac),
      ['02:00:00:00:16:02'],
    );
    assert.equal((await rt.exec(c.vmiUid, ['udhcpc', '-n', '-q'])).exitCode, 0);
    assert.equal(await ipOf(rt, c.vmiUid), a.ip);
    assert.notEqual(a.ip, b.ip);
  });
});

describe('sim runtime: scale', () => {
  it('boots ten thousand guests on one network, each with its own lease', async () => {
    const rt = sim({ bootMs: 0 });
    const net: NetworkSpec = {
      id: 'big',
      name: 'default/big',
      cidr: '198.18.0.0/16',
      gateway: '198.18.0.1',
      dhcpRange: { start: '198.18.0.10', end: '198.18.255.250' },
    };
    await rt.ensureNetwork(net);
    const count = 10_000;
    let bootedCount = 0;
    const allBooted = new Promise<void>((resolve) => {
      rt.subscribe((e) => {
        if (e.type === 'guest-changed' && ++bootedCount === count) resolve();
      });
    });
    for (let i = 0; i < count; i++) {
      const mac = `02:5c:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      await launch(rt, `vm${i}`, [{ mac, net }]);
    }
    await allBooted;
    const leases = await rt.leases(net.id);
    assert.equal(leases.length, count);
    assert.equal(new Set(leases.map((l) => l.ip)).size, count);
    const last = await rt.observe(`vmi-vm${count - 1}`);
    assert.equal(last?.agent?.interfaces[0]?.ipAddresses.length, 1);
    assert.equal(
      (await rt.exec(`vmi-vm${count - 1}`, ['ping', '-c', '1', leases[0]?.ip ?? ''])).exitCode,
      0,
    );
  });
});
