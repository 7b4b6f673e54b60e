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
    assert.equal(iface.items!['x-kubernetes-preserve-unknown-fields'], true);
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

  it('fields inside objects that keep unknown fields are not unknown; typos at the top and in metadata are', () => {
    assert.deepEqual(unknownFields(VM, vm({}, { someFieldHarrowDoesNotKnow: 'kept' })), []);
    assert.deepEqual(
      unknownFields(VM, vm({ spce: {}, metadata: { name: 'a', labelz: { a: 'b' } } })),
      ['metadata.labelz', 'spce'],
    );
  });

  it('Strict rejects naming each field, Warn warns, Ignore says nothing, and what the stored object had is not new', () => {
    const bad = vm({ spce: 1 });
    assert.throws(
      () => checkFields(VM, bad, 'Strict'),
      /strict decoding error: unknown field "spce"/,
    );
    assert.deepEqual(checkFields(VM, bad, 'Warn'), ['unknown field "spce"']);
    assert.deepEqual(checkFields(VM, bad, 'Ignore'), []);
    assert.deepEqual(checkFields(VM, bad, 'Strict', vm({ spce: 0 })), []);
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
