// The network plugin (Multus role), NAD parsing and NAD admission: MACs into pod interfaces, network-status, networks' life.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nadAdmission } from '../../src/apiserver/admission/nad.ts';
import { podInterfaceName } from '../../src/network/interface-plans.ts';
import { Invalid } from '../../src/resources/errors.ts';
import {
  nadNetwork,
  networkIdOf,
  POD_NETWORK,
  validateNadConfig,
} from '../../src/resources/nad.ts';
import type {
  AuditRecord,
  KubeEvent,
  NetworkAttachmentDefinition,
  Pod,
  VirtualMachine,
} from '../../src/resources/types.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import {
  counterMacAssigner,
  getVm,
  getVmi,
  nadManifest,
  podsOf,
  startHarness,
  vmManifest,
  waitFor,
  waitRunning,
  type Harness,
} from './controllers-harness.ts';

const stored = (nad: NetworkAttachmentDefinition): NetworkAttachmentDefinition => ({
  ...nad,
  metadata: { ...nad.metadata, uid: '3f2a9c1e-0000-4000-8000-000000000000' },
});

function invalidCauses(fn: () => unknown): Array<{ field: string; message: string }> {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Invalid, String(e));
    return e.details.causes ?? [];
  }
  assert.fail('expected Invalid');
}

describe('NAD config (pure)', () => {
  test('a bridge NAD with ipam becomes the network Harrow creates; id from the uid', () => {
    const n = nadNetwork(
      stored(
        nadManifest('blue', {
          vlan: 12,
          ipam: {
            type: 'host-local',
            subnet: '198.18.7.0/24',
            rangeStart: '198.18.7.10',
            rangeEnd: '198.18.7.20',
            gateway: '198.18.7.1',
          },
        }),
      ),
    );
    assert.deepEqual(n, {
      id: '3f2a9c1e',
      name: 'default/blue',
      cidr: '198.18.7.0/24',
      gateway: '198.18.7.1',
      dhcpRange: { start: '198.18.7.10', end: '198.18.7.20' },
      vlan: 12,
    });
    const d = nadNetwork(stored(nadManifest('green', { ipam: { subnet: '198.18.8.0/24' } })));
    assert.deepEqual(
      [d.gateway, d.dhcpRange.start, d.dhcpRange.end],
      ['198.18.8.1', '198.18.8.2', '198.18.8.254'],
    );
    assert.equal(networkIdOf(stored(nadManifest('x', {}))), '3f2a9c1e');
  });

  test('each problem is an Invalid naming spec.config', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: 'macvlan', ipam: { subnet: '198.18.1.0/24' } }, /type "macvlan" is not supported/],
      [{ vlan: 4095, ipam: { subnet: '198.18.1.0/24' } }, /vlan 4095/],
      [{ ipam: { subnet: '10.0.0.0/24' } }, /inside 198\.18\.0\.0\/15/],
      [{ ipam: { subnet: '198.19.4.0/24' } }, /reserved for the pod network/],
      [{ ipam: { subnet: '198.18.1.5/24' } }, /no host bits/],
      [
        { ipam: { subnet: '198.18.01.0/24' } },
        /ipam.subnet "198.18.01.0\/24": must be an IPv4 network/,
      ],
      [
        { ipam: { subnet: '198.18.1.0/24', gateway: '198.18.1.01' } },
        /ipam.gateway "198.18.1.01": must be an IPv4 address/,
      ],
      [
        { ipam: { subnet: '198.18.1.0/24', gateway: '198.18.2.1' } },
        /ipam.gateway 198.18.2.1: must be a host address inside/,
      ],
      [
        { ipam: { subnet: '198.18.1.0/24', rangeStart: '198.18.1.50', rangeEnd: '198.18.1.40' } },
        /rangeStart 198.18.1.50 is after/,
      ],
      [{}, /ipam.subnet is required/],
    ];
    for (const [config, message] of cases) {
      const causes = invalidCauses(() => validateNadConfig(nadManifest('bad', config)));
      assert.equal(causes[0]?.field, 'spec.config');
      assert.match(causes.map((c) => c.message).join(' '), message);
    }
    const notJson: NetworkAttachmentDefinition = {
      ...nadManifest('bad', {}),
      spec: { config: '{not json' },
    };
    assert.match(
      invalidCauses(() => validateNadConfig(notJson))[0]?.message ?? '',
      /not valid JSON/,
    );
  });

  test('pod interface names follow KubeVirt: eth0 for the pod network, pod + 11 hex of sha256(network name) for Multus', () => {
    assert.equal(podInterfaceName({ name: 'default', pod: {} }), 'eth0');
    // sha256("net1") = 6c270ef2f25…
    assert.equal(
      podInterfaceName({ name: 'net1', multus: { networkName: 'blue' } }),
      'pod6c270ef2f25',
    );
  });
});

describe('NAD admission', () => {
  test('fills a free 198.18.N.0/24 when ipam is missing, and rejects overlapping subnets', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const admit = nadAdmission(store);
      const user = { name: 'admin', groups: [] };
      await store.create(nadManifest('taken', { ipam: { subnet: '198.18.0.0/24' } }));
      const fresh = nadManifest('auto', {});
      const result = await admit.admit({
        operation: 'create',
        kind: 'NetworkAttachmentDefinition',
        object: fresh,
        user,
        dryRun: false,
      });
      const config = JSON.parse(fresh.spec.config as string) as {
        ipam: { subnet: string; gateway: string };
      };
      assert.equal(config.ipam.subnet, '198.18.1.0/24');
      assert.equal(config.ipam.gateway, '198.18.1.1');
      assert.match(result?.warnings?.[0] ?? '', /198\.18\.1\.0\/24/);
      // A second admission before the first is stored does not get the same subnet.
      const second = nadManifest('auto2', {});
      await admit.admit({
        operation: 'create',
        kind: 'NetworkAttachmentDefinition',
        object: second,
        user,
        dryRun: false,
      });
      assert.equal(
        (JSON.parse(second.spec.config as string) as { ipam: { subnet: string } }).ipam.subnet,
        '198.18.2.0/24',
      );
      await assert.rejects(
        admit.admit({
          operation: 'create',
          kind: 'NetworkAttachmentDefinition',
          object: nadManifest('clash', { ipam: { subnet: '198.18.0.128/25' } }),
          user,
          dryRun: false,
        }),
        (e: unknown) =>
          e instanceof Invalid &&
          /overlaps the subnet of NetworkAttachmentDefinition default\/taken/.test(
            e.details.causes?.[0]?.message ?? '',
          ),
      );
      await assert.rejects(
        admit.admit({
          operation: 'create',
          kind: 'NetworkAttachmentDefinition',
          object: nadManifest('wrong', { type: 'ipvlan' }),
          user,
          dryRun: false,
        }),
        (e: unknown) => e instanceof Invalid && e.details.causes?.[0]?.field === 'spec.config',
      );
      // Updating a NAD does not clash with itself.
      const self = (await store.get({
        kind: 'NetworkAttachmentDefinition',
        namespace: 'default',
        name: 'taken',
      })) as NetworkAttachmentDefinition;
      await admit.admit({
        operation: 'update',
        kind: 'NetworkAttachmentDefinition',
        object: self,
        oldObject: self,
        user,
        dryRun: false,
      });
    } finally {
      await store.close();
    }
  });
});

describe('network plugin on the sim runtime', () => {
  let h: Harness;
  let assigner: ReturnType<typeof counterMacAssigner>;
  before(async () => {
    h = await startHarness({
      macAssigner: (store) => (assigner = counterMacAssigner(store)),
    });
  });
  after(async () => h.close());

  test('network-status reports what the runtime created, and an audit record names the pod MACs', async () => {
    await h.store.create(nadManifest('red', { ipam: { subnet: '198.18.9.0/24' } }));
    await h.store.create(
      vmManifest('net-a', { macs: ['02:00:00:00:30:01', '02:00:00:00:30:02'], nads: ['red'] }),
    );
    await waitRunning(h, 'net-a');
    const [pod] = (await podsOf(h.store, 'net-a')) as [Pod];
    const status = JSON.parse(
      pod.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
    ) as Array<Record<string, unknown>>;
    assert.deepEqual(status, [
      {
        name: 'harrow-pod-network',
        interface: 'eth0',
        mac: '02:00:00:00:30:01',
        default: true,
        dns: {},
      },
      { name: 'default/red', interface: 'pod6c270ef2f25', mac: '02:00:00:00:30:02', dns: {} },
    ]);
    const audit = (await h.store.list('AuditRecord', { namespace: 'default' })).items.find(
      (a) =>
        (a as AuditRecord).spec.verb === 'pod-network-created' &&
        (a as AuditRecord).spec.resource.name === pod.metadata.name,
    ) as AuditRecord;
    assert.equal(audit.spec.user, 'system:harrow:controller');
    assert.deepEqual(audit.spec.changes, [
      { field: 'interfaces[default].mac', new: '02:00:00:00:30:01' },
      { field: 'interfaces[net1].mac', new: '02:00:00:00:30:02' },
    ]);
    assert.ok((await h.runtime.inventory()).networks.includes(POD_NETWORK.id));
  });

  test('with pool admission off, missing MACs are assigned at pod creation and written back into the VM and VMI specs', async () => {
    await h.store.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'legacy', annotations: { 'harrow.io/mac-pool-admission': 'false' } },
    });
    await h.store.create(nadManifest('lan', { ipam: { subnet: '198.18.10.0/24' } }, 'legacy'));
    const before = assigner.calls;
    await h.store.create(vmManifest('old', { namespace: 'legacy', nads: ['lan'] }));
    const vmi = await waitFor('running', async () => {
      const v = await getVmi(h.store, 'old', 'legacy');
      return v?.status?.phase === 'Running' ? v : undefined;
    });
    // At least once: a conflict with a concurrent VM write makes the plugin retry (the assigner throws on conflict).
    assert.ok(assigner.calls > before);
    const vm = (await getVm(h.store, 'old', 'legacy')) as VirtualMachine;
    const vmMacs = (vm.spec.template.spec.domain.devices.interfaces ?? []).map((i) => i.macAddress);
    assert.equal(vmMacs.length, 2);
    assert.ok(
      vmMacs.every((m) => typeof m === 'string' && /^02:aa:/.test(m)),
      String(vmMacs),
    );
    assert.deepEqual(
      vmi.spec.domain.devices.interfaces?.map((i) => i.macAddress),
      vmMacs,
    );
    const [pod] = (await podsOf(h.store, 'old', 'legacy')) as [Pod];
    const status = JSON.parse(
      pod.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
    ) as Array<{ mac: string }>;
    assert.deepEqual(
      status.map((s) => s.mac),
      vmMacs,
    );
    assert.deepEqual(
      (await h.runtime.observe(vmi.metadata.uid as string))?.nics.map((n) => n.deviceMac),
      vmMacs,
    );
    // The written-back MACs are the running ones: no RestartRequired.
    await h.controllers.waitForIdle();
    assert.equal(
      (await getVm(h.store, 'old', 'legacy'))?.status?.conditions?.find(
        (c) => c.type === 'RestartRequired',
      ),
      undefined,
    );
  });

  test('a pod waits for a NAD that does not exist yet, with an event, and starts once it is created', async () => {
    await h.store.create(
      vmManifest('early', { macs: ['02:00:00:00:31:01', '02:00:00:00:31:02'], nads: ['late'] }),
    );
    const events = await waitFor('NoNetworkFound event', async () => {
      const list = (await h.store.list('Event', { namespace: 'default' })).items as KubeEvent[];
      return list.find((e) => e.reason === 'NoNetworkFound' && e.message.includes('late'));
    });
    assert.equal(events.type, 'Warning');
    assert.notEqual((await getVmi(h.store, 'early'))?.status?.phase, 'Running');
    await h.store.create(nadManifest('late', { ipam: { subnet: '198.18.11.0/24' } }));
    await waitRunning(h, 'early');
  });

  test('a deleted NAD’s network is removed once no pod uses it', async () => {
    const nad = (await h.store.create(
      nadManifest('temp', { ipam: { subnet: '198.18.12.0/24' } }),
    )) as NetworkAttachmentDefinition;
    const id = networkIdOf(nad);
    await h.store.create(
      vmManifest('user', { macs: ['02:00:00:00:32:01', '02:00:00:00:32:02'], nads: ['temp'] }),
    );
    await waitRunning(h, 'user');
    assert.ok((await h.runtime.inventory()).networks.includes(id));
    await h.store.delete({
      kind: 'NetworkAttachmentDefinition',
      namespace: 'default',
      name: 'temp',
    });
    await h.controllers.waitForIdle();
    assert.ok((await h.runtime.inventory()).networks.includes(id), 'kept while a pod uses it');
    await h.store.delete({ kind: 'VirtualMachine', namespace: 'default', name: 'user' });
    await waitFor(
      'network removed',
      async () => !(await h.runtime.inventory()).networks.includes(id),
    );
  });
});
