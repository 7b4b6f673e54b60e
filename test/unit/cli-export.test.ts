// harrow export: the manifest keeps what the user wrote (every spec field, MACs unless asked) and drops what the server set.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportManifest } from '../../src/cli/export.ts';
import type { VirtualMachine } from '../../src/resources/types.ts';

const stored = (): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: {
    name: 'vm-a',
    namespace: 'prod',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2026-11-26T00:00:00Z',
    managedFields: [{ manager: 'kubectl' }],
    finalizers: ['kubevirt.io/virtualMachineControllerFinalize'],
    labels: { app: 'web' },
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      'harrow.io/restart-scheduled-at': '2026-11-27T01:00:00Z',
      'harrow.io/maintenance-window': '{"schedule":"0 1 * * *","duration":"1h"}',
    },
  },
  spec: {
    runStrategy: 'Always',
    template: {
      spec: {
        domain: {
          devices: { interfaces: [{ name: 'nic', bridge: {}, macAddress: '02:48:52:00:00:01' }] },
          firmware: { bootloader: { efi: {} } },
        },
        networks: [{ name: 'nic', multus: { networkName: 'lan' } }],
      },
    },
    dataVolumeTemplates: [{ metadata: { name: 'disk' }, spec: { storage: {} } }],
  },
  status: { printableStatus: 'Running' },
});

describe('harrow export', () => {
  it("keeps apiVersion, kind, name, namespace, labels, the user's annotations and the whole spec with its MACs", () => {
    const m = exportManifest(stored()) as VirtualMachine;
    assert.deepEqual(m.metadata, {
      name: 'vm-a',
      namespace: 'prod',
      labels: { app: 'web' },
      annotations: { 'harrow.io/maintenance-window': '{"schedule":"0 1 * * *","duration":"1h"}' },
    });
    assert.deepEqual(m.spec, stored().spec);
    assert.equal(m.status, undefined);
  });

  it('--without-macs blanks every interface MAC and nothing else; --without-namespace drops the namespace', () => {
    const m = exportManifest(stored(), {
      withoutMacs: true,
      withoutNamespace: true,
    }) as VirtualMachine;
    const expected = stored().spec;
    delete expected.template.spec.domain.devices.interfaces![0]!.macAddress;
    assert.deepEqual(m.spec, expected);
    assert.equal(m.metadata.namespace, undefined);
  });

  it('does not change the object it exports', () => {
    const vm = stored();
    exportManifest(vm, { withoutMacs: true });
    assert.deepEqual(vm, stored());
  });
});
