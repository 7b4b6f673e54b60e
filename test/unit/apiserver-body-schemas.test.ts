// Write bodies against their route's schema (the kind's TypeBox source): kube-apiserver's 422 naming each field, a
// field already stored that way not refused again, admission's own words first, and query answers unchanged.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AdmissionPlugin } from '../../src/apiserver/admission/types.ts';
import { Invalid, fieldInvalid } from '../../src/resources/errors.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { VMS, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const MERGE = { 'content-type': 'application/merge-patch+json' };
const CORES = 'spec.template.spec.domain.cpu.cores';

function withCores(name: string, cores: unknown): KubeObject {
  const vm = vmManifest(name);
  const domain = (vm.spec as { template: { spec: { domain: Record<string, unknown> } } }).template
    .spec.domain;
  domain.cpu = { cores };
  return vm;
}

describe('write bodies against the kind schema', () => {
  it('a wrong type is a 422 Invalid naming the field in kube-apiserver words, and nothing is stored', async () => {
    h = await startServer();
    const r = await h.request('POST', VMS, withCores('web', 'two'));
    assert.equal(r.status, 422, r.body);
    assert.equal(r.json.reason, 'Invalid');
    assert.equal(
      r.json.message,
      `VirtualMachine.kubevirt.io "web" is invalid: ${CORES}: Invalid value: "string": ${CORES} in body must be of type integer: "string"`,
    );
    assert.deepEqual(r.json.details?.causes, [
      {
        reason: 'FieldValueTypeInvalid',
        message: `Invalid value: "string": ${CORES} in body must be of type integer: "string"`,
        field: CORES,
      },
    ]);
    assert.equal((await h.request('GET', `${VMS}/web`)).status, 404);
  });

  it('several fields are each named, a missing required one as Required value', async () => {
    h = await startServer();
    const vm = withCores('web', true);
    (vm.spec as Record<string, unknown>).running = 'yes';
    delete (vm.spec as Record<string, unknown>).runStrategy;
    (vm.spec as { template: { spec: Record<string, unknown> } }).template.spec.volumes = [
      { name: 'data', persistentVolumeClaim: {} },
    ];
    const r = await h.request('POST', VMS, vm);
    assert.equal(r.status, 422, r.body);
    assert.deepEqual(r.json.details?.causes?.map((c) => [c.field, c.reason]).sort(), [
      ['spec.running', 'FieldValueTypeInvalid'],
      [CORES, 'FieldValueTypeInvalid'],
      ['spec.template.spec.volumes[0].persistentVolumeClaim.claimName', 'FieldValueRequired'],
    ]);
    assert.match(r.json.message, /is invalid: \[.*, .*, .*\]$/);
  });

  it('replace and patch are checked on the object they write, in the same words', async () => {
    h = await startServer();
    assert.equal((await h.request('POST', VMS, vmManifest('web'))).status, 201);
    const patched = await h.request(
      'PATCH',
      `${VMS}/web`,
      { spec: { template: { spec: { domain: { cpu: { cores: 'two' } } } } } },
      MERGE,
    );
    assert.equal(patched.status, 422, patched.body);
    assert.equal(patched.json.details?.causes?.[0]?.field, CORES);
    const jsonPatched = await h.request(
      'PATCH',
      `${VMS}/web`,
      [{ op: 'add', path: '/spec/runStrategy', value: 5 }],
      { 'content-type': 'application/json-patch+json' },
    );
    assert.equal(jsonPatched.status, 422, jsonPatched.body);
    assert.equal(jsonPatched.json.details?.causes?.[0]?.field, 'spec.runStrategy');
    const got = await h.request('GET', `${VMS}/web`);
    const replaced = await h.request('PUT', `${VMS}/web`, {
      ...withCores('web', 'two'),
      metadata: got.json.metadata,
    });
    assert.equal(replaced.status, 422, replaced.body);
    const applied = await h.request(
      'PATCH',
      `${VMS}/web?fieldManager=test`,
      withCores('web', 'two'),
      { 'content-type': 'application/apply-patch+yaml' },
    );
    assert.equal(applied.status, 422, applied.body);
    const after = await h.request('GET', `${VMS}/web`);
    assert.equal(after.json.metadata.resourceVersion, got.json.metadata.resourceVersion);
  });

  it('a field stored that way before is not refused again when another field changes (ratcheting)', async () => {
    h = await startServer();
    // Written straight to the store: what an older server, or a controller, left there.
    await h.store.create({
      ...withCores('old', 'two'),
      metadata: { name: 'old', namespace: 'default' },
    });
    const r = await h.request('PATCH', `${VMS}/old`, { metadata: { labels: { a: 'b' } } }, MERGE);
    assert.equal(r.status, 200, r.body);
    const worse = await h.request(
      'PATCH',
      `${VMS}/old`,
      { spec: { template: { spec: { domain: { cpu: { cores: 'three' } } } } } },
      MERGE,
    );
    assert.equal(worse.status, 422, 'a changed field is checked');
  });

  it("admission's own refusal is answered first, in its words", async () => {
    const refuses: AdmissionPlugin = {
      kinds: ['VirtualMachine'],
      async admit() {
        throw new Invalid(
          'VirtualMachine.kubevirt.io "web" is invalid: spec.running: must be a boolean',
          [fieldInvalid('spec.running', 'must be a boolean')],
        );
      },
    };
    h = await startServer({ admission: [refuses] });
    const r = await h.request('POST', VMS, withCores('web', 'two'));
    assert.equal(r.status, 422);
    assert.match(r.json.message, /spec\.running: must be a boolean/);
  });

  it('a body that is not a patch is a 400 in the words of its kind of patch', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('web'));
    const merge = await h.request('PATCH', `${VMS}/web`, [1], MERGE);
    assert.equal(merge.status, 400);
    assert.match(merge.json.message, /a merge patch must be a JSON object/);
    const json = await h.request('PATCH', `${VMS}/web`, [{ op: 'add', path: '/x' }], {
      'content-type': 'application/json-patch+json',
    });
    assert.equal(json.status, 400);
    assert.match(json.json.message, /JSON patch operation 0 \(add\): "value" is required/);
    const apply = await h.request('PATCH', `${VMS}/web?fieldManager=t`, [1], {
      'content-type': 'application/apply-patch+yaml',
    });
    assert.equal(apply.status, 400);
    assert.match(apply.json.message, /must be an object \(a VirtualMachine manifest\)/);
  });

  it('a query parameter outside its values is answered as before', async () => {
    h = await startServer();
    const r = await h.request('GET', `${VMS}?includeObject=Bogus`);
    assert.equal(r.status, 400);
    assert.equal(
      r.json.message,
      'invalid querystring: querystring/includeObject must be equal to one of the allowed values',
    );
  });
});
