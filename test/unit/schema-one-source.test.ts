// One schema per kind: a field added to the TypeBox source is typed, accepted under Strict and published in OpenAPI.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Type } from 'typebox';
import { InterfaceSchema } from '../../src/resources/schema/kubevirt.ts';
import type { Interface, VirtualMachine } from '../../src/resources/types.ts';

// Added before anything else reads the schema: the apiserver modules below are loaded after this line.
Object.assign(InterfaceSchema.properties, {
  harrowProbeField: Type.Optional(Type.String({ description: 'A field only this test adds.' })),
});

const { startServer } = await import('./apiserver-harness.ts');
const harness = await startServer();
after(() => harness.close());

const vm = (iface: Interface & Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: `vm-${Object.keys(iface).join('-').toLowerCase()}` },
  spec: {
    runStrategy: 'Halted',
    template: {
      spec: {
        domain: { devices: { interfaces: [iface] } },
        networks: [{ name: 'default', pod: {} }],
      },
    },
  },
});
const URL = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines?fieldValidation=Strict';

describe('one schema source per kind', () => {
  it('a field added to the source is accepted under Strict and kept', async () => {
    const r = await harness.request(
      'POST',
      URL,
      vm({ name: 'default', bridge: {}, harrowProbeField: 'x' }),
    );
    assert.equal(r.status, 201, r.body);
    const stored = (r.json.spec as VirtualMachine['spec']).template.spec.domain.devices;
    assert.deepEqual(stored.interfaces?.[0], {
      name: 'default',
      bridge: {},
      harrowProbeField: 'x',
    });
  });

  it('a field the source does not have is still refused under Strict, naming its path', async () => {
    const r = await harness.request(
      'POST',
      URL,
      vm({ name: 'default', bridge: {}, harrowProbeFeld: 'x' }),
    );
    assert.equal(r.status, 400);
    assert.match(
      r.json.message,
      /unknown field "spec\.template\.spec\.domain\.devices\.interfaces\[0\]\.harrowProbeFeld"/,
    );
  });

  it('the added field is in the OpenAPI v3 document kubectl explain reads', async () => {
    const r = await harness.request('GET', '/openapi/v3/apis/kubevirt.io/v1');
    assert.equal(r.status, 200);
    const doc = JSON.parse(r.body) as {
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const vmSchema = doc.components.schemas['io.kubevirt.v1.VirtualMachine'];
    const iface = ['spec', 'template', 'spec', 'domain', 'devices', 'interfaces'].reduce<unknown>(
      (s, key) => (s as { properties: Record<string, unknown> }).properties[key],
      vmSchema,
    ) as { items: { properties: Record<string, { description?: string }> } };
    assert.equal(
      iface.items.properties['harrowProbeField']?.description,
      'A field only this test adds.',
    );
  });
});
