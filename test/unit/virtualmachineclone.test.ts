// VirtualMachineClone validation and the pure clone rule: no MAC and no MAC-remembering annotation carried over, filters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HarrowError } from '../../src/resources/errors.ts';
import type { VirtualMachine } from '../../src/resources/types.ts';
import {
  ANNOTATION_CLONED_BY,
  cloneVirtualMachine,
  keepKey,
  validateVirtualMachineClone,
  type VirtualMachineClone,
} from '../../src/resources/virtualmachineclone.ts';
import { vmManifest } from './controllers-harness.ts';

const clone = (spec: Partial<VirtualMachineClone['spec']> = {}): VirtualMachineClone => ({
  apiVersion: 'clone.kubevirt.io/v1beta1',
  kind: 'VirtualMachineClone',
  metadata: { name: 'c1', namespace: 'default', uid: 'uid-c1' },
  spec: {
    source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'src' },
    target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'dst' },
    ...spec,
  },
});

const causesOf = (f: () => void): Array<{ field: string; message: string }> => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof HarrowError && e.reason === 'Invalid', String(e));
    return e.details.causes ?? [];
  }
  assert.fail('expected Invalid');
};

test('validation names each bad field and normalises the given MACs', () => {
  const ok = clone({ newMacAddresses: { default: '02-AA-BB-CC-DD-EE' } });
  validateVirtualMachineClone(ok);
  assert.equal(ok.spec.newMacAddresses?.default, '02:aa:bb:cc:dd:ee');
  const causes = causesOf(() =>
    validateVirtualMachineClone(
      clone({
        source: { kind: 'VirtualMachineSnapshot', name: 'Bad_Name' },
        target: { kind: 'VirtualMachine', name: 'dst' },
        newMacAddresses: {
          a: '01:00:5e:00:00:01',
          b: 'ff:ff:ff:ff:ff:ff',
          c: '02:00:00:00:00:01',
          d: '02:00:00:00:00:01',
          e: 'zz',
        },
        labelFilters: ['ok', ''],
      }),
    ),
  );
  const fields = causes.map((c) => c.field);
  for (const f of [
    'spec.source.kind',
    'spec.source.name',
    'spec.newMacAddresses["a"]',
    'spec.newMacAddresses["b"]',
    'spec.newMacAddresses["d"]',
    'spec.newMacAddresses["e"]',
    'spec.labelFilters[1]',
  ]) {
    assert.ok(fields.includes(f), `${f} in ${JSON.stringify(fields)}`);
  }
  assert.ok(!fields.includes('spec.newMacAddresses["c"]'));
  assert.deepEqual(
    causesOf(() =>
      validateVirtualMachineClone(clone({ target: { kind: 'VirtualMachine', name: 'src' } })),
    ).map((c) => c.field),
    ['spec.target.name'],
  );
});

test('KubeVirt filter rule: none copies all, the last matching pattern decides, ! excludes', () => {
  assert.equal(keepKey('a/b', undefined), true);
  assert.equal(keepKey('a/b', []), false);
  assert.equal(keepKey('a/b', ['*', '!a/*']), false);
  assert.equal(keepKey('c/d', ['*', '!a/*']), true);
  assert.equal(keepKey('a/b', ['!a/*', 'a/b']), true);
  assert.equal(keepKey('a.b', ['a*b']), true);
  assert.equal(keepKey('axb', ['a.b']), false);
  assert.equal(keepKey('abc', ['a*c', '!*b']), true);
  assert.equal(keepKey('ab', ['a**b*']), true);
  assert.equal(keepKey('b', ['a*']), false);
  // A pathological pattern answers at once (no regular-expression backtracking).
  const started = Date.now();
  assert.equal(keepKey('a'.repeat(300), [`${'*a'.repeat(40)}b`]), false);
  assert.ok(Date.now() - started < 500);
});

test('the clone carries no MAC, no MAC-remembering annotation, no status, no firmware identity; keeps runStrategy', () => {
  const source = vmManifest('src', {
    runStrategy: 'Always',
    macs: ['02:48:52:00:00:01', '02:48:52:00:00:02'],
    nads: ['lan'],
  }) as VirtualMachine;
  source.metadata.uid = 'uid-src';
  source.metadata.labels = { app: 'web', 'team/x': 'y' };
  source.metadata.annotations = {
    'harvesterhci.io/mac-address': '{"default":"02:48:52:00:00:01"}',
    note: 'keep',
    'harrow.io/cloned-by': 'old',
  };
  source.spec.template.metadata = {
    labels: { app: 'web' },
    annotations: {
      'k8s.v1.cni.cncf.io/networks': '[{"name":"lan","mac":"02:48:52:00:00:02"}]',
      'harrow.io/previous-macs': '{}',
      other: 'x',
    },
  };
  source.spec.template.spec.domain.firmware = { uuid: 'u-1', serial: 's-1' };
  source.status = { printableStatus: 'Running', ready: true };
  const plan = cloneVirtualMachine(
    source,
    clone({ newMacAddresses: { net1: '02:aa:00:00:00:01' }, labelFilters: ['*', '!team/*'] }),
    'dst',
  );
  const vm = plan.vm;
  assert.equal(vm.metadata.name, 'dst');
  assert.equal(vm.status, undefined);
  assert.equal(vm.metadata.uid, undefined);
  assert.equal(vm.spec.runStrategy, 'Always');
  assert.deepEqual(
    vm.spec.template.spec.domain.devices.interfaces?.map((i) => i.macAddress),
    [undefined, '02:aa:00:00:00:01'],
  );
  assert.deepEqual(vm.metadata.labels, { app: 'web' });
  assert.deepEqual(vm.metadata.annotations, { note: 'keep', [ANNOTATION_CLONED_BY]: 'uid-c1' });
  assert.deepEqual(vm.spec.template.metadata?.annotations, { other: 'x' });
  assert.deepEqual(vm.spec.template.spec.domain.firmware, {});
  assert.deepEqual(plan.givenMacs, { net1: '02:aa:00:00:00:01' });
  assert.ok(
    plan.dropped.some((d) => d.includes('02:48:52:00:00:01')) &&
      plan.dropped.some((d) => d.includes('harvesterhci.io/mac-address')),
  );
  // an interface named like an Object.prototype member gets no MAC from the prototype
  const odd = vmManifest('odd', { podNetwork: false, nads: ['lan'] });
  odd.spec.template.spec.domain.devices.interfaces![0]!.name = 'constructor';
  odd.spec.template.spec.networks![0]!.name = 'constructor';
  assert.equal(
    cloneVirtualMachine(odd, clone(), 'odd-copy').vm.spec.template.spec.domain.devices
      .interfaces?.[0]?.macAddress,
    undefined,
  );
  // the source is untouched
  assert.equal(
    source.spec.template.spec.domain.devices.interfaces?.[0]?.macAddress,
    '02:48:52:00:00:01',
  );
});

test('each persistent disk of the clone is its own copy: a DataVolume template named for the target, cloning the source claim', () => {
  const source = vmManifest('src') as VirtualMachine;
  const spec = source.spec.template.spec;
  spec.domain.devices.disks = [{ name: 'root' }, { name: 'shared' }];
  spec.volumes = [
    { name: 'root', dataVolume: { name: 'src-root' } },
    { name: 'shared', persistentVolumeClaim: { claimName: 'data' } },
  ];
  source.spec.dataVolumeTemplates = [
    {
      metadata: { name: 'src-root', labels: { tier: 'os' } },
      spec: {
        source: { registry: { url: 'docker://quay.io/containerdisks/debian:12' } },
        storage: { resources: { requests: { storage: '4Gi' } } },
      },
    },
  ];
  const { vm, dropped } = cloneVirtualMachine(source, clone(), 'dst');
  assert.deepEqual(vm.spec.template.spec.volumes, [
    { name: 'root', dataVolume: { name: 'dst-src-root' } },
    { name: 'shared', dataVolume: { name: 'dst-data' } },
  ]);
  assert.deepEqual(
    vm.spec.dataVolumeTemplates?.map((t) => [t.metadata.name, t.spec.source, t.spec.storage]),
    [
      [
        'dst-src-root',
        { pvc: { namespace: 'default', name: 'src-root' } },
        { resources: { requests: { storage: '4Gi' } } },
      ],
      ['dst-data', { pvc: { namespace: 'default', name: 'data' } }, {}],
    ],
  );
  assert.equal(vm.spec.dataVolumeTemplates?.[0]?.metadata.labels?.tier, 'os');
  assert.ok(dropped.some((d) => d.includes('claim data')));
  // The source is not changed.
  assert.equal(source.spec.template.spec.volumes?.[1]?.persistentVolumeClaim?.claimName, 'data');
});
