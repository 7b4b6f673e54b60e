// What `harrow down` selects: every host object name maps back to exactly its own instance, never a neighbour's, and
// the state dir is found again from the command lines the runtime writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { downCommandFor } from '../../src/cli/serve.ts';
import { qemuInstanceId, qemuStateDir } from '../../src/runtime/choice.ts';
import { dnsmasqArgs, dnsmasqOf, isDnsmasqCommand } from '../../src/runtime/qemu/dnsmasq.ts';
import {
  checkInstanceId,
  hostNamespace,
  instanceIdOfHostNamespace,
  instanceIdOfPodNamespace,
  instanceIdOfQemuName,
  podNamespace,
  qemuGuestName,
} from '../../src/runtime/qemu/names.ts';
import { parseTables } from '../../src/runtime/qemu/nft.ts';
import { pidFileOf, qemuArgs } from '../../src/runtime/qemu/qemu.ts';
import {
  guestFiles,
  networkFiles,
  stateDirOfDnsmasqPidFile,
  stateDirOfGuestPidFile,
} from '../../src/runtime/qemu/state-dir.ts';

const objectId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const instanceId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,23}$/);

describe('harrow down: which instance a host object belongs to', () => {
  it('a pod namespace, host namespace and QEMU name map back to their own instance only', () => {
    fc.assert(
      fc.property(instanceId, instanceId, objectId, (a, b, uid) => {
        assert.equal(instanceIdOfPodNamespace(podNamespace(a, uid)), a);
        assert.equal(instanceIdOfHostNamespace(hostNamespace(a)), a);
        assert.equal(instanceIdOfQemuName(qemuGuestName(a, uid)), a);
        if (a !== b) {
          // `h1` must never claim `h1-2`'s objects (a prefix of the id), nor the other way round.
          assert.notEqual(instanceIdOfPodNamespace(podNamespace(b, uid)), a);
          assert.notEqual(instanceIdOfHostNamespace(hostNamespace(b)), a);
          assert.notEqual(instanceIdOfQemuName(qemuGuestName(b, uid)), a);
        }
      }),
    );
    assert.equal(instanceIdOfPodNamespace(podNamespace('h1', 'u')), 'h1');
    assert.equal(instanceIdOfPodNamespace(podNamespace('h1-2', 'u')), 'h1-2');
  });

  it('names that are not Harrow instance objects belong to no instance', () => {
    for (const ns of ['harrow-', 'harrow-UPPER', 'hp-h1', 'hp-.u', 'hp-h1.', 'other', 'harrowx-h1'])
      assert.equal(instanceIdOfHostNamespace(ns) ?? instanceIdOfPodNamespace(ns), undefined, ns);
    for (const name of ['harrow.h1', 'harrow..u', 'vm1', 'harrow.H1.u'])
      assert.equal(instanceIdOfQemuName(name), undefined, name);
  });

  it('a data dir names its instance as `harrow serve` does, so a deleted data dir still names it', () => {
    const id = qemuInstanceId('/srv/harrow');
    assert.equal(checkInstanceId(id), id);
    assert.equal(qemuInstanceId('/srv/harrow'), id);
    assert.notEqual(qemuInstanceId('/srv/harrow2'), id);
  });
});

describe('harrow down: the state dir from the command lines the runtime writes', () => {
  const stateDir = qemuStateDir('/srv/harrow data');

  it("QEMU's -pidfile and dnsmasq's --pid-file lead back to the state dir", () => {
    const guest = guestFiles(stateDir, 'vmi-1');
    const cmdline = [
      'qemu-system-x86_64',
      ...qemuArgs({
        name: qemuGuestName('h1', 'vmi-1'),
        memoryMiB: 128,
        cpus: 1,
        qmpSocket: guest.qmp,
        agentSocket: guest.agent,
        pidFile: guest.pidFile,
        nics: [],
      }),
    ];
    assert.equal(stateDirOfGuestPidFile(pidFileOf(cmdline)!), stateDir);
    const network = networkFiles(stateDir, 'net-1');
    const dnsmasq = [
      '/usr/sbin/dnsmasq',
      ...dnsmasqArgs({
        bridge: 'hb-net-1',
        gateway: '198.18.0.1',
        rangeStart: '198.18.0.10',
        rangeEnd: '198.18.0.20',
        netmask: '255.255.255.0',
        leaseFile: network.leases,
        pidFile: network.pid,
        logFile: network.log,
      }),
    ];
    assert.ok(isDnsmasqCommand(dnsmasq));
    assert.deepEqual(dnsmasqOf(dnsmasq), { pidFile: network.pid, bridge: 'hb-net-1' });
    assert.equal(stateDirOfDnsmasqPidFile(network.pid), stateDir);
  });

  it('other pid files lead nowhere', () => {
    assert.equal(stateDirOfGuestPidFile('/run/qemu.pid'), undefined);
    assert.equal(stateDirOfGuestPidFile('/x/networks/n/qemu.pid'), undefined);
    assert.equal(stateDirOfDnsmasqPidFile('/run/dnsmasq/dnsmasq.pid'), undefined);
    assert.equal(pidFileOf(['qemu-system-x86_64', '-m', '64']), undefined);
  });
});

describe('harrow down: nftables tables and the hint serve prints', () => {
  it('parses `nft -j list tables`', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'bridge', name: 'harrow_macspoofchk', handle: 1 } },
        { table: { family: 'bridge', name: 'harrow_vxlan', handle: 2 } },
      ],
    });
    assert.deepEqual(parseTables(json), [
      { family: 'bridge', name: 'harrow_macspoofchk' },
      { family: 'bridge', name: 'harrow_vxlan' },
    ]);
    assert.deepEqual(parseTables(''), []);
  });

  it('names the data dir only when it is not the default, quoted for the shell', () => {
    assert.match(downCommandFor('/w/.harrow', '/w'), /(^|\/)harrow down$/);
    assert.match(downCommandFor('/srv/h', '/w'), /harrow down --data-dir \/srv\/h$/);
    assert.match(downCommandFor("/srv/it's", '/w'), /--data-dir '\/srv\/it'\\''s'$/);
  });
});
