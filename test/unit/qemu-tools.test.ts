// The qemu runtime's tool wrappers: what they send to ip, nft, dnsmasq, QEMU and dpkg, and how they read the answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dnsmasqArgs, parseLeases } from '../../src/runtime/qemu/dnsmasq.ts';
import { parseDepends } from '../../src/runtime/qemu/dpkg.ts';
import { GUEST_MODULES, guestScripts, initScript } from '../../src/runtime/qemu/guest-init.ts';
import { parseAddresses, parseLinks, parseNamespaces } from '../../src/runtime/qemu/ip.ts';
import { parseLdd } from '../../src/runtime/qemu/ldd.ts';
import {
  guardPortCommands,
  parseSpoofchkTable,
  spoofchkTableRuleset,
  unguardPortCommands,
} from '../../src/runtime/qemu/nft.ts';
import { guestNameOf, qemuArgs } from '../../src/runtime/qemu/qemu.ts';
import { parseNetDev } from '../../src/runtime/qemu/procfs.ts';
import { guestSideOfTap } from '../../src/runtime/qemu/binding-bridge.ts';

// Captured from `ip -j -d link show` (iproute2 6.1) with a bridge port veth and a bridge.
const LINKS = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    operstate: 'UNKNOWN',
    address: '00:00:00:00:00:00',
  },
  {
    ifindex: 2,
    link_index: 3,
    ifname: 'hv0123456789abc',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    master: 'hb-n1',
    operstate: 'UP',
    address: '32:D1:1B:7D:56:91',
    link_netnsid: 0,
    linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge' },
    ifalias: 'harrow:pod:pod-0:pod1a2b3c',
  },
  {
    ifindex: 4,
    ifname: 'hb-n1',
    flags: ['BROADCAST', 'MULTICAST'],
    operstate: 'DOWN',
    address: 'de:a0:19:2e:96:01',
    linkinfo: { info_kind: 'bridge' },
  },
]);

// Captured from `nft -j list table bridge harrow_macspoofchk` (nftables 1.0.6).
const SPOOFCHK = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "bridge", "name": "harrow_macspoofchk", "handle": 1}}, {"set": {"family": "bridge", "name": "guarded", "table": "harrow_macspoofchk", "type": "ifname", "handle": 2, "elem": ["hv0123456789abc"]}}, {"set": {"family": "bridge", "name": "allowed", "table": "harrow_macspoofchk", "type": ["ifname", "ether_addr"], "handle": 3, "elem": [{"concat": ["hv0123456789abc", "02:aa:00:00:00:01"]}]}}, {"chain": {"family": "bridge", "table": "harrow_macspoofchk", "name": "prerouting", "handle": 1, "type": "filter", "hook": "prerouting", "prio": -300, "policy": "accept"}}, {"rule": {"family": "bridge", "table": "harrow_macspoofchk", "chain": "prerouting", "handle": 4, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "@guarded"}}, {"match": {"op": "!=", "left": {"concat": [{"meta": {"key": "iifname"}}, {"payload": {"protocol": "ether", "field": "saddr"}}]}, "right": "@allowed"}}, {"counter": {"packets": 7, "bytes": 588}}, {"drop": null}]}}]}`;

describe('ip (iproute2)', () => {
  it('reads links: name, lower-case MAC, kind, bridge master, alias, up', () => {
    const [lo, port, bridge] = parseLinks(LINKS);
    assert.deepEqual(lo, {
      name: 'lo',
      index: 1,
      mac: '00:00:00:00:00:00',
      operstate: 'UNKNOWN',
      up: true,
    });
    assert.deepEqual(port, {
      name: 'hv0123456789abc',
      index: 2,
      mac: '32:d1:1b:7d:56:91',
      operstate: 'UP',
      up: true,
      kind: 'veth',
      master: 'hb-n1',
      alias: 'harrow:pod:pod-0:pod1a2b3c',
    });
    assert.equal(bridge?.kind, 'bridge');
    assert.equal(bridge?.up, false);
  });

  it('reads addresses and namespaces, including the empty output of an old ip netns list', () => {
    const addr = [
      {
        ifname: 'hb-n1',
        addr_info: [
          { family: 'inet', local: '198.18.1.1', prefixlen: 24 },
          { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
        ],
      },
    ];
    assert.deepEqual(parseAddresses(JSON.stringify(addr)), [
      { family: 'inet', local: '198.18.1.1', prefixlen: 24 },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
    ]);
    assert.deepEqual(parseNamespaces(''), []);
    assert.deepEqual(parseNamespaces('[{"name":"harrow-a"},{"name":"hp-a.pod-0","id":3}]'), [
      'harrow-a',
      'hp-a.pod-0',
    ]);
  });
});

describe('nft (macspoofchk)', () => {
  it('the table drops frames from a guarded port whose source MAC is not the allowed one, before bridging', () => {
    const ruleset = spoofchkTableRuleset();
    assert.match(ruleset, /table bridge harrow_macspoofchk/);
    assert.match(ruleset, /hook prerouting priority -300/);
    assert.match(ruleset, /iifname @guarded iifname \. ether saddr != @allowed counter drop/);
  });

  it('guarding a port replaces what it was allowed before in one transaction', () => {
    assert.equal(
      guardPortCommands('hv1', '02:aa:00:00:00:02', ['02:aa:00:00:00:01']),
      'delete element bridge harrow_macspoofchk allowed { "hv1" . 02:aa:00:00:00:01 }\n' +
        'add element bridge harrow_macspoofchk guarded { "hv1" }\n' +
        'add element bridge harrow_macspoofchk allowed { "hv1" . 02:aa:00:00:00:02 }\n',
    );
    assert.equal(
      unguardPortCommands('hv1', ['02:aa:00:00:00:02'], true),
      'delete element bridge harrow_macspoofchk allowed { "hv1" . 02:aa:00:00:00:02 }\n' +
        'delete element bridge harrow_macspoofchk guarded { "hv1" }\n',
    );
  });

  it('refuses text that is not an interface name or a canonical MAC (nothing reaches nft unchecked)', () => {
    assert.throws(
      () => guardPortCommands('hv1"; flush ruleset', '02:aa:00:00:00:01', []),
      /interface name/,
    );
    assert.throws(() => guardPortCommands('hv1', '02-AA-00-00-00-01', []), /canonical/);
  });

  it('reads guarded ports, allowed MACs and the drop counter', () => {
    const state = parseSpoofchkTable(SPOOFCHK);
    assert.deepEqual([...state.guarded], ['hv0123456789abc']);
    assert.deepEqual([...state.allowed], [['hv0123456789abc', ['02:aa:00:00:00:01']]]);
    assert.deepEqual(state.dropped, { packets: 7, bytes: 588 });
  });
});

describe('dnsmasq', () => {
  const config = {
    bridge: 'hb-n1',
    gateway: '198.18.1.1',
    rangeStart: '198.18.1.10',
    rangeEnd: '198.18.1.100',
    netmask: '255.255.255.0',
    leaseFile: '/s/networks/n1/leases',
    pidFile: '/s/networks/n1/dnsmasq.pid',
    logFile: '/s/networks/n1/dnsmasq.log',
  };

  it('serves DHCP only, on the bridge only, without reading the system configuration', () => {
    const args = dnsmasqArgs(config);
    for (const expected of [
      '--port=0',
      '--interface=hb-n1',
      '--bind-interfaces',
      '--conf-file=/dev/null',
      '--dhcp-leasefile=/s/networks/n1/leases',
    ]) {
      assert.ok(args.includes(expected), expected);
    }
    assert.ok(args.includes('--dhcp-range=198.18.1.10,198.18.1.100,255.255.255.0,3600'));
    assert.ok(args.includes('--dhcp-option=option:router,198.18.1.1'));
  });

  it('parses a lease file: expiry, MAC, IP and hostname; infinite leases have no expiry; IPv6 lines are skipped', () => {
    const text = [
      '1795725818 02:aa:00:00:00:02 198.18.1.64 * 01:02:aa:00:00:00:02',
      '0 02:AA:00:00:00:01 198.18.1.63 vm0 *',
      'duid 00:01:00:01:2c:4f:1a:2b:02:aa:00:00:00:09',
      '1795725818 1234 fd00::5 * 00:01:00:01',
      '',
    ].join('\n');
    assert.deepEqual(parseLeases(text), [
      {
        mac: '02:aa:00:00:00:02',
        ip: '198.18.1.64',
        expires: new Date(1795725818 * 1000).toISOString(),
      },
      { mac: '02:aa:00:00:00:01', ip: '198.18.1.63', hostname: 'vm0' },
    ]);
  });
});

describe('qemu command line', () => {
  const launch = {
    name: 'harrow.t.vmi-1',
    kernel: '/c/vmlinuz-1',
    initrd: '/c/initrd-1.cpio.gz',
    memoryMiB: 128,
    cpus: 1,
    serialLog: '/s/serial.log',
    qmpSocket: '/s/qmp.sock',
    agentSocket: '/s/qga.sock',
    pidFile: '/s/qemu.pid',
    nics: [
      { id: 'nic0', netdev: 'net0', tap: 'tap0', mac: '02:aa:00:00:00:01' },
      { id: 'nic1', netdev: 'net1', tap: 'tap1', mac: '02:aa:00:00:00:02' },
    ],
  };

  it('uses TCG, never KVM, and no user-mode networking', () => {
    const args = qemuArgs(launch);
    assert.equal(args[args.indexOf('-accel') + 1], 'tcg');
    assert.ok(!args.some((arg) => /kvm|enable-kvm|user,|-nic/.test(arg)), args.join(' '));
    assert.equal(
      qemuArgs({ ...launch, tbSizeMiB: 64 })[args.indexOf('-accel') + 1],
      'tcg,tb-size=64',
    );
  });

  it('gives each virtio NIC the platform MAC on its own tap, and the agent its virtio-serial port', () => {
    const args = qemuArgs(launch).join(' ');
    assert.match(
      args,
      /-netdev tap,id=net0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=net0,mac=02:aa:00:00:00:01,id=nic0,romfile=/,
    );
    assert.match(args, /-netdev tap,id=net1,ifname=tap1,.*,mac=02:aa:00:00:00:02,id=nic1,/);
    assert.match(
      args,
      /-chardev socket,path=\/s\/qga.sock,server=on,wait=off,id=qga0 -device virtio-serial -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0/,
    );
    assert.match(args, /-qmp unix:\/s\/qmp.sock,server=on,wait=off/);
    assert.match(args, /-append console=ttyS0 quiet/);
  });

  it('finds the guest name back in a process command line', () => {
    assert.equal(guestNameOf(['qemu-system-x86_64', ...qemuArgs(launch)]), 'harrow.t.vmi-1');
    assert.equal(guestNameOf(['qemu-system-x86_64', '-name', 'plain']), 'plain');
    assert.equal(guestNameOf(['qemu-system-x86_64', '-m', '1']), undefined);
  });
});

describe('guest image inputs', () => {
  it('loads the virtio modules in dependency order, then the power button', () => {
    assert.deepEqual(GUEST_MODULES.slice(0, 10), [
      'virtio_ring',
      'virtio',
      'virtio_pci_legacy_dev',
      'virtio_pci_modern_dev',
      'virtio_pci',
      'failover',
      'net_failover',
      'virtio_net',
      'virtio_console',
      'virtio_blk',
    ]);
    const init = initScript();
    assert.match(
      init,
      /for m in virtio_ring virtio virtio_pci_legacy_dev .* virtio_console virtio_blk evdev button; do/,
    );
    assert.match(init, /exec \/bin\/busybox init$/m);
  });

  it('runs DHCP on every ethN and the agent on org.qemu.guest_agent.0, respawned by init', () => {
    const files = new Map(guestScripts().map((file) => [file.path, file.content]));
    assert.match(files.get('/etc/inittab')!, /::respawn:\/etc\/harrow\/agent/);
    assert.match(
      files.get('/etc/harrow/agent')!,
      /qemu-ga -m virtio-serial -p \/dev\/virtio-ports\/org\.qemu\.guest_agent\.0/,
    );
    assert.match(files.get('/etc/harrow/network')!, /udhcpc -i "\$i" -b -s \/etc\/harrow\/udhcpc/);
    assert.match(
      files.get('/etc/harrow/udhcpc')!,
      /ip addr add "\$ip\/\$prefix" dev "\$interface"/,
    );
  });

  it('reads ldd output: libraries and the loader, not the vDSO; a missing library is an error', () => {
    const output = [
      '\tlinux-vdso.so.1 (0x00007f90ea178000)',
      '\tlibglib-2.0.so.0 => /lib/x86_64-linux-gnu/libglib-2.0.so.0 (0x00007f90e9ef2000)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f90e9c28000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f90ea17a000)',
    ].join('\n');
    assert.deepEqual(parseLdd(output), [
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib/x86_64-linux-gnu/libglib-2.0.so.0',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
    assert.throws(() => parseLdd('\tlibnuma.so.1 => not found\n'), /libnuma\.so\.1 not found/);
  });

  it('reads a Depends field (the kernel meta package names the versioned kernel package)', () => {
    assert.deepEqual(parseDepends('linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)'), [
      'linux-image-6.1.0-56-cloud-amd64',
    ]);
    assert.deepEqual(parseDepends('libc6 (>= 2.34), libglib2.0-0 (>= 2.56) | libfoo, bar:any'), [
      'libc6',
      'libglib2.0-0',
      'libfoo',
      'bar',
    ]);
  });
});

describe('tap counters (/proc/<pid>/net/dev)', () => {
  // The layout of Linux 6.1's /proc/net/dev: two header lines, then 8 receive and 8 transmit fields per device.
  const NET_DEV = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0',
    '  tap0:    1500      12    1    2    0     0          0         0     9000      40    3    4    0     0       0          0',
    '',
  ].join('\n');

  it('reads each device’s bytes, packets, errors and drops', () => {
    assert.deepEqual(parseNetDev(NET_DEV).get('tap0'), {
      rxBytes: 1500,
      rxPackets: 12,
      rxErrors: 1,
      rxDropped: 2,
      txBytes: 9000,
      txPackets: 40,
      txErrors: 3,
      txDropped: 4,
    });
    assert.deepEqual([...parseNetDev(NET_DEV).keys()], ['lo', 'tap0']);
  });

  it('turns the tap’s sides into the guest’s: what the tap transmitted is what the guest received', () => {
    const guest = guestSideOfTap('default', parseNetDev(NET_DEV).get('tap0')!);
    assert.deepEqual(guest, {
      name: 'default',
      rxBytes: 9000,
      rxPackets: 40,
      rxErrors: 3,
      rxDropped: 4,
      txBytes: 1500,
      txPackets: 12,
      txErrors: 1,
      txDropped: 2,
    });
  });
});
