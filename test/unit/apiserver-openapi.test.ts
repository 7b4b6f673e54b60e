// OpenAPI v3 as kubectl reads it (index, per group/version documents, GVK extensions, fieldValidation) and server-side field validation.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  checkFields,
  fieldValidationOf,
  unknownFields,
} from '../../src/apiserver/field-validation.ts';
import { KIND_SCHEMAS, type Schema } from '../../src/apiserver/openapi-schemas.ts';
import { schemaName } from '../../src/apiserver/openapi.ts';
import { KINDS, kindInfo } from '../../src/resources/kinds.ts';
import { startServer, type Harness } from './apiserver-harness.ts';

const VM = kindInfo('VirtualMachine');

const vm = (
  extra: Record<string, unknown> = {},
  domainExtra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'a', labels: { app: 'x' } },
  spec: {
    runStrategy: 'Halted',
    template: {
      spec: {
        domain: {
          devices: {
            interfaces: [{ name: 'default', bridge: {}, macAddress: '02:00:00:00:00:01' }],
          },
          ...domainExtra,
        },
        networks: [{ name: 'default', pod: {} }],
      },
    },
  },
  ...extra,
});

interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ name: string; in: string }>;
        'x-kubernetes-group-version-kind'?: unknown;
      }
    >
  >;
  components: { schemas: Record<string, Schema> };
}

describe('OpenAPI v3', () => {
  let h: Harness | undefined;
  after(async () => h?.close());

  it('the index links one document per served group/version, by a hash that the document answers to', async () => {
    h = await startServer();
    const index = (await h.request('GET', '/openapi/v3')).json as unknown as {
      paths: Record<string, { serverRelativeURL: string }>;
    };
    const expected = new Set(
      KINDS.map((k) => (k.group === '' ? `api/${k.version}` : `apis/${k.group}/${k.version}`)),
    );
    assert.deepEqual(new Set(Object.keys(index.paths)), expected);
    const url = index.paths['apis/kubevirt.io/v1']!.serverRelativeURL;
    assert.match(url, /^\/openapi\/v3\/apis\/kubevirt\.io\/v1\?hash=[0-9A-F]{128}$/);
    const r = await h.request('GET', url);
    assert.equal(r.status, 200);
    assert.equal(r.headers['cache-control'], 'public, immutable');
    assert.equal((await h.request('GET', '/openapi/v3/apis/nothing.io/v1')).status, 404);
  });

  it('the kubevirt.io/v1 document has VirtualMachine by its GVK, ObjectMeta by reference, and fieldValidation on PATCH', async () => {
    h ??= await startServer();
    const doc = (await h.request('GET', '/openapi/v3/apis/kubevirt.io/v1'))
      .json as unknown as OpenApiDoc;
    const schema = doc.components.schemas[schemaName(VM)]!;
    assert.equal(schemaName(VM), 'io.kubevirt.v1.VirtualMachine');
    assert.deepEqual(schema['x-kubernetes-group-version-kind'], [
      { group: 'kubevirt.io', version: 'v1', kind: 'VirtualMachine' },
    ]);
    assert.equal(
      schema.properties!.metadata!.allOf![0]!.$ref,
      '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
    );
    assert.ok(
      doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'],
      'the referenced ObjectMeta is in the same document',
    );
    const iface =
      schema.properties!.spec!.properties!.template!.properties!.spec!.properties!.domain!
        .properties!.devices!.properties!.interfaces!;
    assert.equal(iface.items!.properties!.macAddress!.type, 'string');
    assert.equal(iface.items!['x-kubernetes-preserve-unknown-fields'], undefined, 'structural');
    assert.deepEqual(iface.items!.required, ['name']);
    const item = doc.paths['/apis/kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}']!;
    const patch = item.patch!;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], {
      group: 'kubevirt.io',
      version: 'v1',
      kind: 'VirtualMachine',
    });
    assert.ok(patch.parameters!.some((p) => p.name === 'fieldValidation' && p.in === 'query'));
    const core = (await h.request('GET', '/openapi/v3/api/v1')).json as unknown as OpenApiDoc;
    assert.ok(core.components.schemas['io.k8s.api.core.v1.Pod']);
  });

  it('a read-only kind has no write operations', async () => {
    h ??= await startServer();
    const doc = (await h.request('GET', '/openapi/v3/apis/harrow.io/v1'))
      .json as unknown as OpenApiDoc;
    const item = doc.paths['/apis/harrow.io/v1/macallocations/{name}']!;
    assert.ok(item.get);
    assert.equal(item.patch, undefined);
    assert.equal(item.put, undefined);
  });

  it('every kind has a schema', () => {
    for (const k of KINDS) assert.ok(KIND_SCHEMAS[k.kind], k.kind);
  });
});

describe('field validation', () => {
  let h: Harness | undefined;
  after(async () => h?.close());

  it('a misspelt field anywhere KubeVirt declares the shape is unknown, with its path; fields kept by KubeVirt are not', () => {
    assert.deepEqual(
      unknownFields(VM, vm({}, { clock: { utc: {}, somethingNewer: 1 }, features: { acpi: {} } })),
      [],
    );
    const typo = vm(
      { spce: {}, metadata: { name: 'a', labelz: { a: 'b' } } },
      {
        cpuu: {},
        devices: { interfaces: [{ name: 'default', bridge: {}, macAdress: '02:48:52:00:00:10' }] },
      },
    );
    assert.deepEqual(unknownFields(VM, typo), [
      'metadata.labelz',
      'spec.template.spec.domain.devices.interfaces[0].macAdress',
      'spec.template.spec.domain.cpuu',
      'spce',
    ]);
    const volumes = vm();
    const spec = (volumes.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    spec.volumes = [
      { name: 'root', containerDisk: { image: 'debian', imagePullPolicy: 'IfNotPresent' } },
      {
        name: 'ci',
        cloudInitNoCloud: { userData: '#cloud-config', networkDataSecretRef: { name: 'n' } },
      },
      { name: 'bad', emptyDisk: { capacity: '1Gi', size: '2Gi' } },
      { name: 'x', persistentVolumeClaim: { claimName: 'c' }, hostPath: { path: '/' } },
    ];
    assert.deepEqual(unknownFields(VM, volumes), [
      'spec.template.spec.volumes[2].emptyDisk.size',
      'spec.template.spec.volumes[3].hostPath',
    ]);
  });

  it('a manifest using many of KubeVirt’s optional fields has nothing unknown', () => {
    const many = vm(
      {},
      {
        ioThreadsPolicy: 'shared',
        devices: {
          autoattachSerialConsole: true,
          networkInterfaceMultiqueue: true,
          interfaces: [
            {
              name: 'default',
              model: 'e1000e',
              masquerade: {},
              macAddress: '02:48:52:00:00:10',
              pciAddress: '0000:81:01.0',
              bootOrder: 2,
              acpiIndex: 3,
              state: 'up',
              tag: 'lan',
              ports: [{ name: 'ssh', protocol: 'TCP', port: 22 }],
              dhcpOptions: {
                bootFileName: 'pxe',
                tftpServerName: 'tftp',
                ntpServers: ['198.18.0.1'],
                privateOptions: [{ option: 240, value: 'x' }],
              },
            },
          ],
          disks: [
            { name: 'root', bootOrder: 1, disk: { bus: 'virtio', pciAddress: '0000:81:02.0' } },
            { name: 'ci', cdrom: { bus: 'sata', readonly: true, tray: 'closed' } },
            { name: 'l', lun: { bus: 'scsi', reservation: true }, serial: 's', cache: 'none' },
          ],
        },
      },
    );
    const spec = (many.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    spec.networks = [
      { name: 'default', pod: { vmNetworkCIDR: '10.0.2.0/24' } },
      { name: 'lan', multus: { networkName: 'ns/lan', default: false } },
    ];
    spec.volumes = [
      { name: 'root', dataVolume: { name: 'root-dv', hotpluggable: false } },
      { name: 'ci', cloudInitConfigDrive: { userDataBase64: 'e30=', secretRef: { name: 's' } } },
      { name: 'l', ephemeral: { persistentVolumeClaim: { claimName: 'c', readOnly: true } } },
      {
        name: 'h',
        hostDisk: { path: '/d.img', type: 'DiskOrCreate', capacity: '1Gi', shared: false },
      },
      { name: 'cm', configMap: { name: 'cm', optional: true, volumeLabel: 'cidata' } },
      { name: 's', secret: { secretName: 's', volumeLabel: 'OEMDRV' } },
      { name: 'sa', serviceAccount: { serviceAccountName: 'default' } },
      { name: 'sp', sysprep: { configMap: { name: 'unattend' } } },
      { name: 'd', downwardAPI: { fields: [{ path: 'labels', fieldRef: { fieldPath: 'x' } }] } },
      { name: 'm', downwardMetrics: {} },
      { name: 'md', memoryDump: { claimName: 'dump', hotpluggable: true } },
      { name: 'e', emptyDisk: { capacity: '2Gi' } },
      { name: 'p', persistentVolumeClaim: { claimName: 'data', readOnly: false } },
    ];
    spec.hostname = 'h';
    spec.accessCredentials = [{ sshPublicKey: { source: { secret: { secretName: 'k' } } } }];
    const vmSpec = many.spec as Record<string, unknown>;
    vmSpec.instancetype = { name: 'u1.small', kind: 'VirtualMachineClusterInstancetype' };
    vmSpec.preference = { name: 'fedora', inferFromVolume: 'root' };
    vmSpec.dataVolumeTemplates = [
      { metadata: { name: 'root-dv' }, spec: { storage: {}, sourceRef: { kind: 'DataSource' } } },
    ];
    assert.deepEqual(unknownFields(VM, many), []);
  });

  it('Strict rejects naming each field, Warn warns and drops them, Ignore drops them silently, and what the stored object had is not new', () => {
    const bad = () => vm({ spce: 1 });
    assert.throws(
      () => checkFields(VM, bad(), 'Strict'),
      /VirtualMachine in version "v1" cannot be handled as a VirtualMachine: strict decoding error: unknown field "spce"/,
    );
    const warned = bad();
    assert.deepEqual(checkFields(VM, warned, 'Warn'), ['unknown field "spce"']);
    assert.equal('spce' in warned, false, 'pruned, as kube-apiserver prunes a structural schema');
    const ignored = bad();
    assert.deepEqual(checkFields(VM, ignored, 'Ignore'), []);
    assert.equal('spce' in ignored, false);
    assert.deepEqual(checkFields(VM, bad(), 'Strict', vm({ spce: 0 })), []);
    assert.equal(fieldValidationOf(undefined), 'Warn');
    assert.throws(() => fieldValidationOf('Loud'), /Ignore, Warn or Strict/);
  });

  it('the API applies the directive on create', async () => {
    h = await startServer();
    const url = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines';
    const strict = await h.request('POST', `${url}?fieldValidation=Strict`, vm({ spce: 1 }));
    assert.equal(strict.status, 400);
    assert.match(strict.json.message, /unknown field "spce"/);
    const warned = await h.request('POST', url, vm({ spce: 1 }));
    assert.equal(warned.status, 201);
    assert.match(String(warned.headers.warning), /unknown field \\"spce\\"/);
    assert.equal((await h.request('POST', `${url}?fieldValidation=Sometimes`, vm())).status, 400);
  });
});
