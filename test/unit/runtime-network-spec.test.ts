// Which networks every runtime accepts (one check for sim and qemu): inside 198.18.0.0/15, host addresses only, a
// usable VLAN id, errors naming the field; qemu also wants an id that can name host objects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NetworkSpec } from '../../src/runtime/types.ts';
import { checkNetworkSpec } from '../../src/runtime/network-spec.ts';
import { checkNetworkSpec as checkQemuNetworkSpec } from '../../src/runtime/qemu/network-spec.ts';

const good: NetworkSpec = {
  id: 'n1',
  name: 'default/net1',
  cidr: '198.18.3.0/24',
  gateway: '198.18.3.1',
  dhcpRange: { start: '198.18.3.10', end: '198.18.3.200' },
};

describe('network spec of a runtime', () => {
  it('accepts a /24 inside 198.18.0.0/15 and a VLAN id', () => {
    assert.equal(checkNetworkSpec(good).cidr.prefix, 24);
    assert.equal(checkNetworkSpec({ ...good, vlan: 4094 }).spec.vlan, 4094);
    assert.equal(
      checkNetworkSpec({
        ...good,
        cidr: '198.19.255.252/30',
        gateway: '198.19.255.253',
        dhcpRange: { start: '198.19.255.254', end: '198.19.255.254' },
      }).cidr.prefix,
      30,
    );
  });

  const cases: Array<[string, Partial<NetworkSpec>, RegExp]> = [
    [
      'a CIDR outside 198.18.0.0/15',
      { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
      /network\.cidr 10\.0\.0\.0\/24 must be a \/15\.\.\/30 inside 198\.18\.0\.0\/15/,
    ],
    [
      'a CIDR with host bits',
      { cidr: '198.18.3.1/24' },
      /network\.cidr "198\.18\.3\.1\/24" is not an IPv4 CIDR/,
    ],
    ['a CIDR larger than the range', { cidr: '198.16.0.0/14' }, /network\.cidr/],
    [
      'a gateway outside the CIDR',
      { gateway: '198.18.4.1' },
      /network\.gateway 198\.18\.4\.1 is not a host address of 198\.18\.3\.0\/24/,
    ],
    ['the network address as gateway', { gateway: '198.18.3.0' }, /network\.gateway/],
    [
      'a gateway with a leading zero',
      { gateway: '198.18.3.01' },
      /network\.gateway "198\.18\.3\.01" is not an IPv4 address/,
    ],
    [
      'the broadcast address in the DHCP range',
      { dhcpRange: { start: '198.18.3.10', end: '198.18.3.255' } },
      /network\.dhcpRange\.end/,
    ],
    [
      'a reversed DHCP range',
      { dhcpRange: { start: '198.18.3.100', end: '198.18.3.10' } },
      /network\.dhcpRange\.start 198\.18\.3\.100 is after/,
    ],
    [
      'a VLAN id out of range',
      { vlan: 4095 },
      /network\.vlan 4095 must be an integer in 1\.\.4094/,
    ],
    ['a missing id', { id: '' }, /network\.id is required/],
  ];
  for (const [what, change, message] of cases) {
    it(`rejects ${what}`, () => {
      assert.throws(() => checkNetworkSpec({ ...good, ...change }), message);
    });
  }

  it('qemu also refuses an id that cannot name a host object', () => {
    assert.equal(checkQemuNetworkSpec(good).cidr.prefix, 24);
    assert.doesNotThrow(() => checkNetworkSpec({ ...good, id: '../n1' }));
    assert.throws(() => checkQemuNetworkSpec({ ...good, id: '../n1' }), /network\.id "\.\.\/n1"/);
  });
});
