// The one IPv4/CIDR parser: strict dotted quads (no leading zeros, as Kubernetes), blocks without host bits, arithmetic
// at the edges of the address space.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  broadcastOf,
  cidrContains,
  cidrOf,
  cidrOverlaps,
  cidrWithin,
  formatCidr,
  formatIpv4,
  isHostOf,
  netmask,
  parseCidr,
  parseInterfaceAddress,
  parseIpv4,
} from '../../src/ip/ipv4.ts';

const cidr = (text: string) => {
  const parsed = parseCidr(text);
  assert.ok(parsed, text);
  return parsed;
};

describe('IPv4 addresses', () => {
  it('parses a dotted quad to its 32-bit number and back', () => {
    assert.equal(parseIpv4('0.0.0.0'), 0);
    assert.equal(parseIpv4('198.18.0.1'), 198 * 2 ** 24 + 18 * 2 ** 16 + 1);
    assert.equal(parseIpv4('255.255.255.255'), 2 ** 32 - 1);
    assert.equal(formatIpv4(2 ** 32 - 1), '255.255.255.255');
    assert.equal(formatIpv4(parseIpv4('198.19.7.200')!), '198.19.7.200');
  });

  for (const text of [
    '198.18.0.01', // leading zero: octal to inet_aton, refused by Kubernetes
    '010.1.1.1',
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '0x1.2.3.4',
    '16909060', // one-part form ipaddr.js's loose parser takes
    '1.2.3.-4',
    '1.2.3.+4',
    '',
    '::1',
  ]) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseIpv4(text), undefined));
  }
});

describe('CIDR blocks', () => {
  it('parses a block without host bits and formats it back', () => {
    assert.deepEqual(parseCidr('198.18.3.0/24'), { network: parseIpv4('198.18.3.0'), prefix: 24 });
    assert.equal(formatCidr(cidr('198.18.0.0/15')), '198.18.0.0/15');
    assert.deepEqual(parseCidr('0.0.0.0/0'), { network: 0, prefix: 0 });
    assert.equal(parseCidr('198.18.3.7/32')?.prefix, 32);
  });

  for (const text of [
    '198.18.3.1/24', // host bits
    '198.19.0.0/15',
    '198.18.3.0/33',
    '198.18.3.0/024',
    '198.18.3.0/',
    '198.18.3.0',
    '198.18.3.0/24/1',
    '198.18.03.0/24',
    '198.18.3.0/+24',
  ]) {
    it(`refuses the block ${JSON.stringify(text)}`, () => assert.equal(parseCidr(text), undefined));
  }

  it('reads an interface address with host bits and its prefix', () => {
    assert.deepEqual(parseInterfaceAddress('198.19.0.11/24'), {
      address: parseIpv4('198.19.0.11'),
      prefix: 24,
    });
    assert.equal(parseInterfaceAddress('198.19.0.011/24'), undefined);
    assert.equal(parseInterfaceAddress('198.19.0.11/33'), undefined);
    assert.equal(formatCidr(cidrOf(parseIpv4('198.19.0.11')!, 24)), '198.19.0.0/24');
    assert.equal(formatCidr(cidrOf(parseIpv4('198.19.0.11')!, 0)), '0.0.0.0/0');
  });

  it('does containment, overlap, broadcast and netmask right at the edges', () => {
    const net = cidr('198.18.3.0/24');
    assert.equal(formatIpv4(broadcastOf(net)), '198.18.3.255');
    assert.equal(formatIpv4(broadcastOf(cidr('0.0.0.0/0'))), '255.255.255.255');
    assert.ok(cidrContains(net, parseIpv4('198.18.3.0')!));
    assert.ok(cidrContains(net, parseIpv4('198.18.3.255')!));
    assert.ok(!cidrContains(net, parseIpv4('198.18.4.0')!));
    assert.ok(isHostOf(net, parseIpv4('198.18.3.1')!));
    assert.ok(!isHostOf(net, parseIpv4('198.18.3.0')!));
    assert.ok(!isHostOf(net, parseIpv4('198.18.3.255')!));
    assert.ok(cidrWithin(cidr('198.19.0.0/16'), cidr('198.18.0.0/15')));
    assert.ok(!cidrWithin(cidr('198.20.0.0/16'), cidr('198.18.0.0/15')));
    assert.ok(!cidrWithin(cidr('198.18.0.0/15'), cidr('198.18.0.0/16')));
    assert.ok(cidrOverlaps(cidr('198.18.0.0/15'), cidr('198.19.4.0/24')));
    assert.ok(cidrOverlaps(cidr('198.19.4.0/24'), cidr('198.18.0.0/15')));
    assert.ok(!cidrOverlaps(cidr('198.18.4.0/24'), cidr('198.18.5.0/24')));
    assert.equal(netmask(24), '255.255.255.0');
    assert.equal(netmask(15), '255.254.0.0');
    assert.equal(netmask(32), '255.255.255.255');
    assert.equal(netmask(0), '0.0.0.0');
  });
});
