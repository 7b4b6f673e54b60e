// Host object names of the qemu runtime: derived from ids only, within kernel limits, and mapped back unambiguously.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  IFNAME_MAX,
  bridgeName,
  checkInstanceId,
  checkObjectId,
  guestDirName,
  hostVethName,
  networkAlias,
  networkIdOfAlias,
  podBridgeName,
  podNamespace,
  podPortAlias,
  podPortOfAlias,
  podUidOfNamespace,
  qemuGuestName,
  vmiUidOfQemuName,
} from '../../src/runtime/qemu/names.ts';

const objectId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const instanceId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,23}$/);

describe('qemu runtime names', () => {
  it('bridge names fit IFNAMSIZ for any network id and keep short ids readable', () => {
    assert.equal(bridgeName('n1'), 'hb-n1');
    fc.assert(
      fc.property(objectId, (id) => {
        const name = bridgeName(id);
        assert.ok(name.length <= IFNAME_MAX, name);
        assert.match(name, /^hb-[a-z0-9-]+$/);
      }),
    );
  });

  it('long or mixed-case network ids get distinct hashed bridge names', () => {
    const a = bridgeName('Default-Network-With-A-Long-Id');
    const b = bridgeName('Default-Network-With-A-Long-Id2');
    assert.notEqual(a, b);
    assert.equal(a.length, 15);
  });

  it('host veth names fit IFNAMSIZ and differ per pod and per interface', () => {
    fc.assert(
      fc.property(objectId, objectId, (podUid, other) => {
        const name = hostVethName(podUid, 'pod1');
        assert.ok(name.length <= IFNAME_MAX);
        if (podUid !== other) assert.notEqual(name, hostVethName(other, 'pod1'));
        assert.notEqual(name, hostVethName(podUid, 'pod2'));
      }),
    );
  });

  it("a pod namespace maps back to its pod only for its own instance, even when one instance id prefixes another's", () => {
    fc.assert(
      fc.property(instanceId, objectId, (instance, podUid) => {
        const ns = podNamespace(instance, podUid);
        assert.equal(podUidOfNamespace(instance, ns), podUid);
        assert.equal(podUidOfNamespace(`${instance}-b`, ns), undefined);
      }),
    );
    assert.equal(podUidOfNamespace('a', podNamespace('a-b', 'uid')), undefined);
    assert.equal(podUidOfNamespace('a', 'harrow-a'), undefined);
  });

  it('QEMU guest names map back to the VMI of the same instance only', () => {
    fc.assert(
      fc.property(instanceId, objectId, (instance, vmiUid) => {
        assert.equal(vmiUidOfQemuName(instance, qemuGuestName(instance, vmiUid)), vmiUid);
        assert.equal(vmiUidOfQemuName(`${instance}x`, qemuGuestName(instance, vmiUid)), undefined);
      }),
    );
  });

  it('aliases round-trip network ids and pod ports', () => {
    assert.equal(networkIdOfAlias(networkAlias('n-1.x')), 'n-1.x');
    assert.equal(networkIdOfAlias('something else'), undefined);
    assert.deepEqual(podPortOfAlias(podPortAlias('0f1e-uid', 'pod1a2b')), {
      podUid: '0f1e-uid',
      podInterfaceName: 'pod1a2b',
    });
    assert.equal(podPortOfAlias(networkAlias('n1')), undefined);
  });

  it('the in-pod bridge is k6t-<podInterfaceName>, cut to 15 characters', () => {
    assert.equal(podBridgeName('eth0'), 'k6t-eth0');
    assert.equal(podBridgeName('pod0123456789abcdef'), 'k6t-pod01234567');
  });

  it('guest directories are short fixed-length hashes (unix socket paths stay short)', () => {
    assert.match(guestDirName('8b5e5c4e-9d1c-4b8e-a8b5-0e1c0e7c2a11'), /^[0-9a-f]{16}$/);
  });

  it('rejects ids that could escape a name or a path', () => {
    for (const bad of ['', '../x', 'a/b', 'a b', 'a,b', '-x', 'x'.repeat(65)]) {
      assert.throws(() => checkObjectId('podUid', bad), /podUid/);
    }
    for (const bad of ['', 'UPPER', 'a.b', 'x'.repeat(25)])
      assert.throws(() => checkInstanceId(bad), /instanceId/);
    assert.equal(checkInstanceId('e2e-123'), 'e2e-123');
  });
});
