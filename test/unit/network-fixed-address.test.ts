// Fixed addresses: the rules an address meets on its network, the requests an object's annotations make, and the sim
// DHCP server's reservations (the dnsmasq dhcp-host role) that follow an interface to a new MAC.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseIpv4 } from '../../src/ip/ipv4.ts';
import {
  fixedAddressChanges,
  fixedAddressClaimName,
  fixedAddressProblem,
  fixedAddressRequests,
} from '../../src/network/fixed-address.ts';
import type { VMISpec } from '../../src/resources/types.ts';
import { DhcpServer } from '../../src/runtime/sim/dhcp-server.ts';

const LAN = { cidr: '198.18.7.0/24', gateway: '198.18.7.1' };
const KEY = 'static-ip.harvesterhci.io/';

describe('fixedAddressProblem', () => {
  test('a host address of the subnet that is not the gateway is fine', () => {
    assert.equal(fixedAddressProblem('198.18.7.10', LAN), undefined);
    assert.equal(fixedAddressProblem('198.18.7.254', LAN), undefined);
  });
  test('refuses, saying why: not IPv4, network, broadcast, outside, gateway', () => {
    assert.match(fixedAddressProblem('198.18.7', LAN) ?? '', /not an IPv4 address/);
    assert.match(fixedAddressProblem('198.18.7.010', LAN) ?? '', /not an IPv4 address/);
    assert.match(
      fixedAddressProblem('198.18.7.0', LAN) ?? '',
      /network address of 198\.18\.7\.0\/24/,
    );
    assert.match(fixedAddressProblem('198.18.7.255', LAN) ?? '', /broadcast address/);
    assert.match(fixedAddressProblem('198.18.8.10', LAN) ?? '', /outside the network's subnet/);
    assert.match(fixedAddressProblem('198.18.7.1', LAN) ?? '', /gateway/);
  });
});

describe('fixedAddressChanges', () => {
  test("what a restart changes: each interface whose fixed address differs from the instance's", () => {
    assert.deepEqual(
      fixedAddressChanges(
        { [`${KEY}a`]: '198.18.7.11', [`${KEY}b`]: '198.18.7.12', other: 'x' },
        { [`${KEY}a`]: '198.18.7.10', [`${KEY}c`]: '198.18.7.13', other: 'y' },
      ),
      [
        'interface a: fixed address 198.18.7.10 → 198.18.7.11',
        'interface c: fixed address 198.18.7.13 → (none)',
        'interface b: fixed address (none) → 198.18.7.12',
      ],
    );
    assert.deepEqual(
      fixedAddressChanges({ [`${KEY}a`]: '198.18.7.10' }, { [`${KEY}a`]: '198.18.7.10' }),
      [],
    );
  });
});

describe('fixedAddressRequests', () => {
  const spec: VMISpec = {
    domain: {
      devices: {
        interfaces: [
          { name: 'default', bridge: {} },
          { name: 'pod', masquerade: {} },
          { name: 'b', bridge: {} },
        ],
      },
    },
    networks: [
      { name: 'default', multus: { networkName: 'lan' } },
      { name: 'pod', pod: {} },
      { name: 'b', multus: { networkName: 'other/lan2' } },
    ],
  } as VMISpec;
  test("each annotation becomes a request on its interface's NAD", () => {
    const r = fixedAddressRequests(
      { [`${KEY}default`]: ' 198.18.7.10 ', [`${KEY}b`]: '198.18.9.3', other: 'x' },
      spec,
      'ns',
    );
    assert.deepEqual(r.causes, []);
    assert.deepEqual(r.requests, [
      { interface: 'default', address: '198.18.7.10', nad: { namespace: 'ns', name: 'lan' } },
      { interface: 'b', address: '198.18.9.3', nad: { namespace: 'other', name: 'lan2' } },
    ]);
  });
  test('an unknown interface and the pod network are refused naming the annotation', () => {
    const r = fixedAddressRequests(
      { [`${KEY}eth9`]: '198.18.7.10', [`${KEY}pod`]: '198.19.1.5' },
      spec,
      'ns',
    );
    assert.deepEqual(
      r.causes.map((c) => c.field),
      [`metadata.annotations[${KEY}eth9]`, `metadata.annotations[${KEY}pod]`],
    );
    assert.match(r.causes[1]!.message, /pod network/);
  });
  test('the claim name is network and address, so one address is one key per network', () => {
    assert.equal(
      fixedAddressClaimName({ namespace: 'ns', name: 'lan' }, '198.18.7.10'),
      'ns.lan.198.18.7.10',
    );
  });
});

describe("the sim DHCP server's reservations (dnsmasq dhcp-host)", () => {
  const ip = (t: string) => parseIpv4(t) as number;
  const server = () =>
    new DhcpServer(
      { start: ip('198.18.7.10'), end: ip('198.18.7.20'), gateway: ip('198.18.7.1') },
      3600,
      () => 1_000,
      () => false,
    );
  test('a reserved MAC gets its address, also outside the dynamic range; no other MAC gets it', () => {
    const d = server();
    d.reserve('02:00:00:00:00:01', ip('198.18.7.10'));
    assert.equal(
      d.bind('02:00:00:00:00:02')?.ip,
      ip('198.18.7.11'),
      'the dynamic range skips the reserved address',
    );
    assert.equal(d.bind('02:00:00:00:00:01')?.ip, ip('198.18.7.10'));
    d.reserve('02:00:00:00:00:03', ip('198.18.7.100'));
    assert.equal(d.bind('02:00:00:00:00:03')?.ip, ip('198.18.7.100'));
  });
  test("the reservation moves to a new MAC: the old MAC's lease is released and the new MAC gets the address", () => {
    const d = server();
    d.reserve('02:00:00:00:00:01', ip('198.18.7.15'));
    d.bind('02:00:00:00:00:01');
    d.reserve('02:00:00:00:00:09', ip('198.18.7.15'));
    assert.deepEqual(
      d.list().map((l) => l.mac),
      [],
      'the old lease is gone',
    );
    assert.equal(d.bind('02:00:00:00:00:09')?.ip, ip('198.18.7.15'));
    assert.deepEqual(
      d.list().map((l) => [l.mac, l.ip]),
      [['02:00:00:00:00:09', '198.18.7.15']],
    );
    assert.deepEqual(d.reservations(), [{ mac: '02:00:00:00:00:09', ip: '198.18.7.15' }]);
  });
  test("as dnsmasq, without the release another MAC's live lease keeps the address from the reserved MAC", () => {
    const d = server();
    d.bind('02:00:00:00:00:01'); // .10, dynamically
    // A reservation written behind the server's back (no release): the address stays leased to the first MAC.
    d['reservedIps'].set(ip('198.18.7.10'), '02:00:00:00:00:02');
    d['reservedMacs'].set('02:00:00:00:00:02', ip('198.18.7.10'));
    assert.notEqual(d.bind('02:00:00:00:00:02')?.ip, ip('198.18.7.10'));
  });
  test('an address given back (its reservation dropped and its lease released) is handed out again', () => {
    const d = server();
    d.reserve('02:00:00:00:00:01', ip('198.18.7.10'));
    d.bind('02:00:00:00:00:01');
    for (let i = 2; i <= 11; i++) d.bind(`02:00:00:00:00:${String(i).padStart(2, '0')}`);
    assert.equal(d.bind('02:00:00:00:00:12'), undefined, 'the range is used up');
    d.unreserve('02:00:00:00:00:01');
    d.release('02:00:00:00:00:01');
    assert.equal(d.bind('02:00:00:00:00:12')?.ip, ip('198.18.7.10'));
  });
  test('unreserve leaves the lease until it expires', () => {
    const d = server();
    d.reserve('02:00:00:00:00:01', ip('198.18.7.12'));
    d.bind('02:00:00:00:00:01');
    d.unreserve('02:00:00:00:00:01');
    assert.deepEqual(d.reservations(), []);
    assert.equal(d.list().length, 1);
  });
});
