// VMIs at the API door: bare VMIs get the pool like VMs (409 naming the holder, fsck clean), KubeVirt's network admitter
// causes on both VM and VMI, the default pod interface, and KubeVirt's refusal to change a VMI's spec.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { virtualMachineAdmission } from '../../src/apiserver/admission/virtualmachine.ts';
import { virtualMachineInstanceAdmission } from '../../src/apiserver/admission/virtualmachineinstance.ts';
import { MacAllocationService } from '../../src/allocation/service.ts';
import { planFsck, storeSource } from '../../src/fsck/check.ts';
import {
  macAllocationName,
  type MacAllocation,
  type VirtualMachineInstance,
} from '../../src/resources/types.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import { VMIS, VMS, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

let h: Harness;
let macs: MacAllocationService;
/** The store the server writes to (the harness's own `store` is another one when `store` is given). */
let store: SqliteStore;
beforeEach(async () => {
  store = await openSqliteStore(':memory:');
  macs = await MacAllocationService.open(store);
  h = await startServer({
    store,
    admission: [virtualMachineAdmission(store, macs), virtualMachineInstanceAdmission(store, macs)],
  });
});
afterEach(async () => {
  macs.close();
  await h.close();
  await store.close();
});

type Iface = Record<string, unknown>;
type Net = Record<string, unknown>;

function vmi(name: string, interfaces?: Iface[], networks?: Net[]): Record<string, unknown> {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name },
    spec: {
      domain: {
        devices: interfaces ? { interfaces } : {},
        resources: { requests: { memory: '128Mi' } },
      },
      ...(networks ? { networks } : {}),
    },
  };
}

function vm(name: string, interfaces: Iface[], networks: Net[]): Record<string, unknown> {
  const m = vmManifest(name) as unknown as {
    spec: { template: { spec: { domain: { devices: object }; networks: Net[] } } };
  };
  m.spec.template.spec.domain.devices = { interfaces };
  m.spec.template.spec.networks = networks;
  return m as unknown as Record<string, unknown>;
}

const POD: Net[] = [{ name: 'default', pod: {} }];
const masq = (macAddress?: string): Iface[] => [
  { name: 'default', masquerade: {}, ...(macAddress !== undefined ? { macAddress } : {}) },
];
const ifaceMacs = (o: { spec?: unknown }): Array<string | undefined> =>
  ((o as VirtualMachineInstance).spec.domain.devices.interfaces ?? []).map((i) => i.macAddress);

describe('a bare VMI goes through the MAC pool', () => {
  it('gets a pool MAC held by the VMI itself', async () => {
    const r = await h.request('POST', VMIS, vmi('bare', masq(), POD));
    assert.equal(r.status, 201, r.body);
    const [mac] = ifaceMacs(r.json);
    assert.match(mac ?? '', /^02:48:52:/);
    const a = (await store.get({ kind: 'MacAllocation', name: macAllocationName(mac!) })) as
      MacAllocation | undefined;
    assert.deepEqual(
      [a?.spec.owner.kind, a?.spec.owner.name, a?.spec.owner.interface],
      ['VirtualMachineInstance', 'bare', 'default'],
    );
  });

  it('two bare VMIs with one MAC: the second gets 409 naming the first; a VM cannot take it either; fsck clean', async () => {
    const mac = '02:aa:bb:cc:dd:01';
    assert.equal((await h.request('POST', VMIS, vmi('first', masq(mac), POD))).status, 201);
    const second = await h.request('POST', VMIS, vmi('second', masq(mac), POD));
    assert.equal(second.status, 409, second.body);
    assert.equal(
      second.json.details.causes?.[0]?.field,
      'spec.domain.devices.interfaces[0].macAddress',
    );
    assert.match(second.json.message, /in use by VirtualMachineInstance default\/first/);
    const taker = await h.request('POST', VMS, vm('taker', masq(mac), POD));
    assert.equal(taker.status, 409, taker.body);
    assert.equal(
      taker.json.details.causes?.[0]?.field,
      'spec.template.spec.domain.devices.interfaces[0].macAddress',
    );
    assert.match(taker.json.message, /VirtualMachineInstance default\/first/);
    assert.equal((await h.request('GET', `${VMIS}/second`)).status, 404);
    assert.deepEqual(await planFsck(storeSource(store)), []);
  });

  it('a VMI owned by a VM keeps the VM’s MAC', async () => {
    const created = await h.request('POST', VMS, vm('owner', masq('02:aa:bb:cc:dd:02'), POD));
    assert.equal(created.status, 201, created.body);
    const owned = vmi('owner', masq('02:aa:bb:cc:dd:02'), POD);
    (owned.metadata as Record<string, unknown>).ownerReferences = [
      {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        name: 'owner',
        uid: created.json.metadata.uid,
        controller: true,
      },
    ];
    const r = await h.request('POST', VMIS, owned);
    assert.equal(r.status, 201, r.body);
    assert.deepEqual(await planFsck(storeSource(store)), []);
  });
});

describe('the default pod interface', () => {
  it('a VMI with no interfaces and no networks gets masquerade `default` on the pod network, with a MAC', async () => {
    const r = await h.request('POST', VMIS, vmi('plain'));
    assert.equal(r.status, 201, r.body);
    const spec = (r.json as unknown as VirtualMachineInstance).spec;
    assert.deepEqual(spec.networks, [{ name: 'default', pod: {} }]);
    assert.equal(spec.domain.devices.interfaces?.[0]?.name, 'default');
    assert.deepEqual(spec.domain.devices.interfaces?.[0]?.masquerade, {});
    assert.match(spec.domain.devices.interfaces?.[0]?.macAddress ?? '', /^02:48:52:/);
  });

  it('autoattachPodInterface: false leaves the VMI without a NIC', async () => {
    const body = vmi('nonic');
    (
      body.spec as { domain: { devices: Record<string, unknown> } }
    ).domain.devices.autoattachPodInterface = false;
    const r = await h.request('POST', VMIS, body);
    assert.equal(r.status, 201, r.body);
    const spec = (r.json as unknown as VirtualMachineInstance).spec;
    assert.equal(spec.networks, undefined);
    assert.equal(spec.domain.devices.interfaces, undefined);
  });
});

/** Each case: interfaces, networks, then the cause KubeVirt gives, relative to the spec's root. */
const ADMITTER_CASES: Array<{
  name: string;
  interfaces: Iface[];
  networks: Net[];
  field: string;
  reason: string;
  message: (root: string) => string;
}> = [
  {
    name: 'malformed MAC',
    interfaces: masq('de:ad:00:00:be'),
    networks: POD,
    field: 'domain.devices.interfaces[0].macAddress',
    reason: 'FieldValueInvalid',
    message: (r) =>
      `interface ${r}.domain.devices.interfaces[0].name has malformed MAC address (de:ad:00:00:be).`,
  },
  {
    name: 'bare hex digits (Go’s net.ParseMAC refuses them)',
    interfaces: masq('525400abcdef'),
    networks: POD,
    field: 'domain.devices.interfaces[0].macAddress',
    reason: 'FieldValueInvalid',
    message: (r) =>
      `interface ${r}.domain.devices.interfaces[0].name has malformed MAC address (525400abcdef).`,
  },
  {
    name: 'MAC too long (EUI-64)',
    interfaces: masq('02:00:00:00:00:00:00:01'),
    networks: POD,
    field: 'domain.devices.interfaces[0].macAddress',
    reason: 'FieldValueInvalid',
    message: (r) =>
      `interface ${r}.domain.devices.interfaces[0].name has MAC address (02:00:00:00:00:00:00:01) that is too long.`,
  },
  {
    name: 'reserved MAC on masquerade',
    interfaces: masq('02:00:00:00:00:00'),
    networks: POD,
    field: 'domain.devices.interfaces[0].macAddress',
    reason: 'FieldValueInvalid',
    message: () =>
      'The requested MAC address is reserved for the in-pod bridge. Please choose another one.',
  },
  {
    name: 'interface without a network',
    interfaces: [...masq(), { name: 'extra', bridge: {} }],
    networks: POD,
    field: 'domain.devices.interfaces[1].name',
    reason: 'FieldValueInvalid',
    message: (r) => `${r}.domain.devices.interfaces[1].name 'extra' not found.`,
  },
  {
    name: 'network that no interface uses',
    interfaces: masq(),
    networks: [...POD, { name: 'unused', multus: { networkName: 'blue' } }],
    field: 'networks[1].name',
    reason: 'FieldValueRequired',
    message: (r) => `${r}.networks[1].name 'unused' not found.`,
  },
  {
    name: 'interface name outside [A-Za-z0-9_-]',
    interfaces: [{ name: 'br.0', bridge: {} }],
    networks: [{ name: 'br.0', multus: { networkName: 'blue' } }],
    field: 'domain.devices.interfaces[0].name',
    reason: 'FieldValueInvalid',
    message: () =>
      'Network interface name can only contain alphabetical characters, numbers, dashes (-) or underscores (_)',
  },
  {
    name: 'masquerade on a multus network',
    interfaces: [{ name: 'blue', masquerade: {} }],
    networks: [{ name: 'blue', multus: { networkName: 'blue' } }],
    field: 'domain.devices.interfaces[0].name',
    reason: 'FieldValueInvalid',
    message: () => 'Masquerade interface only implemented with pod network',
  },
  {
    name: 'two networks of one name',
    interfaces: masq(),
    networks: [...POD, { name: 'default', pod: {} }],
    field: 'networks[1].name',
    reason: 'FieldValueDuplicate',
    message: () =>
      'Network with name "default" already exists, every network must have a unique name',
  },
];

describe('KubeVirt’s network admitter, on VM and VMI alike', () => {
  for (const c of ADMITTER_CASES) {
    for (const kind of ['VirtualMachine', 'VirtualMachineInstance'] as const) {
      it(`${c.name} (${kind})`, async () => {
        const root = kind === 'VirtualMachine' ? 'spec.template.spec' : 'spec';
        const r =
          kind === 'VirtualMachine'
            ? await h.request('POST', VMS, vm('bad', c.interfaces, c.networks))
            : await h.request('POST', VMIS, vmi('bad', c.interfaces, c.networks));
        assert.equal(r.status, 422, r.body);
        assert.equal(r.json.reason, 'Invalid');
        const cause = r.json.details.causes?.find((x) => x.field === `${root}.${c.field}`);
        assert.ok(cause, `no cause for ${root}.${c.field} in ${r.body}`);
        assert.equal(cause.reason, c.reason);
        assert.equal(cause.message, c.message(root));
        assert.deepEqual((await store.list('MacAllocation')).items, []);
      });
    }
  }

  it('accepts interface names like brOverlap and br_1, and colon, dash and dotted MACs', async () => {
    const interfaces = [
      { name: 'default', masquerade: {}, macAddress: '02-AA-BB-CC-DD-10' },
      { name: 'brOverlap', bridge: {}, macAddress: '02aa.bbcc.dd11' },
      { name: 'br_1', bridge: {}, macAddress: '02:aa:bb:cc:dd:12' },
    ];
    const networks = [
      ...POD,
      { name: 'brOverlap', multus: { networkName: 'blue' } },
      { name: 'br_1', multus: { networkName: 'red' } },
    ];
    const r = await h.request('POST', VMIS, vmi('names', interfaces, networks));
    assert.equal(r.status, 201, r.body);
    assert.deepEqual(ifaceMacs(r.json), [
      '02:aa:bb:cc:dd:10',
      '02:aa:bb:cc:dd:11',
      '02:aa:bb:cc:dd:12',
    ]);
    const v = await h.request(
      'POST',
      VMS,
      vm(
        'names',
        [{ name: 'br_1', bridge: {} }],
        [{ name: 'br_1', multus: { networkName: 'red' } }],
      ),
    );
    assert.equal(v.status, 201, v.body);
  });
});

describe('a VMI’s spec does not change', () => {
  it('a JSON patch of macAddress is refused as KubeVirt refuses it; labels and status still change', async () => {
    assert.equal(
      (await h.request('POST', VMIS, vmi('fixed', masq('02:aa:bb:cc:dd:20'), POD))).status,
      201,
    );
    const patch = await h.request(
      'PATCH',
      `${VMIS}/fixed`,
      [
        {
          op: 'replace',
          path: '/spec/domain/devices/interfaces/0/macAddress',
          value: '02:aa:bb:cc:dd:21',
        },
      ],
      { 'content-type': 'application/json-patch+json' },
    );
    assert.equal(patch.status, 422, patch.body);
    assert.equal(patch.json.details.causes?.[0]?.message, 'update of VMI object is restricted');
    const after = await h.request('GET', `${VMIS}/fixed`);
    assert.deepEqual(ifaceMacs(after.json), ['02:aa:bb:cc:dd:20']);
    assert.equal(
      await store.get({ kind: 'MacAllocation', name: macAllocationName('02:aa:bb:cc:dd:21') }),
      undefined,
    );
    const label = await h.request(
      'PATCH',
      `${VMIS}/fixed`,
      { metadata: { labels: { tier: 'web' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(label.status, 200, label.body);
    const status = await h.request(
      'PATCH',
      `${VMIS}/fixed/status`,
      { status: { phase: 'Running' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(status.status, 200, status.body);
  });
});
