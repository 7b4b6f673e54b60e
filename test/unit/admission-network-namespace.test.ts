// Multus namespaceIsolation at admission: own namespace and global namespaces only; the cause names the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foreignNetworkCauses } from '../../src/apiserver/admission/network-namespace.ts';

const networks = [
  { name: 'pod', pod: {} },
  { name: 'own', multus: { networkName: 'lan' } },
  { name: 'own-qualified', multus: { networkName: 'team-a/lan' } },
  { name: 'global', multus: { networkName: 'infra/uplink' } },
  { name: 'foreign', multus: { networkName: 'team-b/lan' } },
];

test('only networks outside the own and the global namespaces are refused, each at its field', () => {
  const causes = foreignNetworkCauses(networks, 'spec.networks', 'team-a', ['default', 'infra']);
  assert.deepEqual(
    causes.map((c) => c.field),
    ['spec.networks[4].multus.networkName'],
  );
  assert.match(causes[0]!.message, /namespace "team-b"/);
});

test('the global list is configurable: with none, default is foreign too', () => {
  const causes = foreignNetworkCauses(
    [{ name: 'x', multus: { networkName: 'default/lan' } }],
    'spec.template.spec.networks',
    'team-a',
    [],
  );
  assert.deepEqual(
    causes.map((c) => c.field),
    ['spec.template.spec.networks[0].multus.networkName'],
  );
});
