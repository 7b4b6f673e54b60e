// Server-side apply and metadata.managedFields: ownership per field manager, conflicts as kube-apiserver words them.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ManagedFieldsEntry } from '../../src/apiserver/field-manager/managed-fields.ts';
import { startServer, vmManifest, VMS, type Harness } from './apiserver-harness.ts';

const APPLY = { 'content-type': 'application/apply-patch+yaml' };

let h: Harness;
beforeEach(async () => {
  h = await startServer();
});
afterEach(async () => {
  await h.close();
});

const apply = (name: string, manager: string, body: unknown, query = '') =>
  h.request('PATCH', `${VMS}/${name}?fieldManager=${manager}${query}`, JSON.stringify(body), APPLY);

const entries = (o: { metadata: Record<string, unknown> }): ManagedFieldsEntry[] =>
  (o.metadata.managedFields ?? []) as ManagedFieldsEntry[];
const entryOf = (o: { metadata: Record<string, unknown> }, manager: string) =>
  entries(o).find((e) => e.manager === manager);

describe('server-side apply', () => {
  it('creates an absent object (201) with an Apply entry, and a second identical apply writes nothing', async () => {
    const created = await apply('vm1', 'gitops', vmManifest('vm1'));
    assert.equal(created.status, 201, created.body);
    const entry = entryOf(created.json, 'gitops');
    assert.equal(entry?.operation, 'Apply');
    assert.equal(entry?.apiVersion, 'kubevirt.io/v1');
    assert.equal(entry?.fieldsType, 'FieldsV1');
    assert.match(entry?.time ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const fields = entry!.fieldsV1;
    assert.deepEqual(fields['f:metadata'], { 'f:labels': { '.': {}, 'f:app': {} } });
    const spec = fields['f:spec']!;
    assert.deepEqual(spec['f:runStrategy'], {});
    const devices = spec['f:template']!['f:spec']!['f:domain']!['f:devices']!;
    assert.deepEqual(devices['f:interfaces'], {
      'k:{"name":"default"}': { '.': {}, 'f:masquerade': {}, 'f:name': {} },
    });
    assert.equal(fields['f:status'], undefined, 'status belongs to the status subresource');

    const again = await apply('vm1', 'gitops', vmManifest('vm1'));
    assert.equal(again.status, 200, again.body);
    assert.equal(again.json.metadata.resourceVersion, created.json.metadata.resourceVersion);
    assert.deepEqual(again.json.metadata.managedFields, created.json.metadata.managedFields);
  });

  it('a second manager changing an owned field gets 409 FieldManagerConflict; with force it takes the field over', async () => {
    await apply('vm1', 'gitops', vmManifest('vm1'));
    const change = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'vm1' },
      spec: { runStrategy: 'Always' },
    };
    const refused = await apply('vm1', 'operator', change);
    assert.equal(refused.status, 409, refused.body);
    assert.equal(refused.json.reason, 'Conflict');
    assert.equal(
      refused.json.message,
      'Apply failed with 1 conflict: conflict with "gitops": .spec.runStrategy',
    );
    assert.deepEqual(refused.json.details.causes, [
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "gitops"',
        field: '.spec.runStrategy',
      },
    ]);
    const unchanged = await h.request('GET', `${VMS}/vm1`);
    assert.equal((unchanged.json.spec as { runStrategy: string }).runStrategy, 'Halted');

    // The same value is shared ownership, not a conflict.
    const shared = await apply('vm1', 'operator', { ...change, spec: { runStrategy: 'Halted' } });
    assert.equal(shared.status, 200, shared.body);

    const forced = await apply('vm1', 'operator', change, '&force=true');
    assert.equal(forced.status, 200, forced.body);
    assert.equal((forced.json.spec as { runStrategy: string }).runStrategy, 'Always');
    assert.ok(entryOf(forced.json, 'operator')!.fieldsV1['f:spec']!['f:runStrategy']);
    assert.equal(entryOf(forced.json, 'gitops')!.fieldsV1['f:spec']!['f:runStrategy'], undefined);
  });

  it('fields an applier stops sending go, unless another manager holds them', async () => {
    await apply('vm1', 'gitops', {
      ...vmManifest('vm1'),
      metadata: { name: 'vm1', labels: { app: 'web', tier: 'front' } },
    });
    // Another manager adds a label through an ordinary merge patch (an Update entry).
    const patched = await h.request(
      'PATCH',
      `${VMS}/vm1?fieldManager=kubectl-label`,
      JSON.stringify({ metadata: { labels: { owner: 'ops' } } }),
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(patched.status, 200, patched.body);
    assert.equal(entryOf(patched.json, 'kubectl-label')?.operation, 'Update');
    assert.deepEqual(entryOf(patched.json, 'kubectl-label')?.fieldsV1, {
      'f:metadata': { 'f:labels': { 'f:owner': {} } },
    });

    const pruned = await apply('vm1', 'gitops', vmManifest('vm1'));
    assert.equal(pruned.status, 200, pruned.body);
    assert.deepEqual(pruned.json.metadata.labels, { app: 'web', owner: 'ops' });
  });

  it('keyed lists merge by name: a second manager adds an interface and keeps the first one', async () => {
    await apply('vm1', 'gitops', vmManifest('vm1'));
    const second = await apply('vm1', 'netops', {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'vm1' },
      spec: {
        template: {
          spec: {
            domain: { devices: { interfaces: [{ name: 'blue', bridge: {} }] } },
            networks: [{ name: 'blue', multus: { networkName: 'blue' } }],
          },
        },
      },
    });
    assert.equal(second.status, 200, second.body);
    const spec = second.json.spec as {
      template: { spec: { domain: { devices: { interfaces: { name: string }[] } } } };
    };
    assert.deepEqual(
      spec.template.spec.domain.devices.interfaces.map((i) => i.name),
      ['blue', 'default'],
    );
    // Changing the first manager's interface is a conflict naming the item by its key.
    const refused = await apply('vm1', 'netops', {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'vm1' },
      spec: {
        template: {
          spec: { domain: { devices: { interfaces: [{ name: 'default', model: 'e1000' }] } } },
        },
      },
    });
    assert.equal(refused.status, 200, 'a field nobody owns yet is no conflict');
    const conflict = await apply('vm1', 'gitops', {
      ...vmManifest('vm1'),
      spec: {
        ...(vmManifest('vm1').spec as object),
        template: {
          spec: {
            domain: {
              devices: { interfaces: [{ name: 'default', masquerade: {}, model: 'virtio' }] },
              memory: { guest: '128Mi' },
            },
            networks: [{ name: 'default', pod: {} }],
          },
        },
      },
    });
    assert.equal(conflict.status, 409, conflict.body);
    assert.equal(
      conflict.json.details.causes?.[0]?.field,
      '.spec.template.spec.domain.devices.interfaces[name="default"].model',
    );
  });

  it('an update by another verb records an Update entry, and a conflict with it names its version and time', async () => {
    await apply('vm1', 'gitops', vmManifest('vm1'));
    const edited = await h.request(
      'PATCH',
      `${VMS}/vm1?fieldManager=kubectl-edit`,
      JSON.stringify({ spec: { runStrategy: 'Always' } }),
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(edited.status, 200, edited.body);
    const entry = entryOf(edited.json, 'kubectl-edit')!;
    assert.equal(entry.operation, 'Update');
    assert.deepEqual(entry.fieldsV1, { 'f:spec': { 'f:runStrategy': {} } });
    assert.equal(
      entryOf(edited.json, 'gitops')!.fieldsV1['f:spec']!['f:runStrategy'],
      undefined,
      'an update takes the field from the applier',
    );
    const refused = await apply('vm1', 'gitops', vmManifest('vm1'));
    assert.equal(refused.status, 409, refused.body);
    assert.equal(
      refused.json.message,
      `Apply failed with 1 conflict: conflict with "kubectl-edit" using kubevirt.io/v1 at ${entry.time}: .spec.runStrategy`,
    );
  });

  it('a create without fieldManager is recorded under the User-Agent product', async () => {
    const created = await h.request('POST', VMS, vmManifest('vm2'), {
      'user-agent': 'kubectl/v1.31.0 (linux/amd64) kubernetes/abc',
    });
    assert.equal(created.status, 201, created.body);
    assert.equal(entryOf(created.json, 'kubectl')?.operation, 'Update');
  });

  it('refuses an apply without fieldManager and force on other patches, naming the option (422)', async () => {
    const noManager = await h.request(
      'PATCH',
      `${VMS}/vm1`,
      JSON.stringify(vmManifest('vm1')),
      APPLY,
    );
    assert.equal(noManager.status, 422);
    assert.equal(
      noManager.json.message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    assert.equal(noManager.json.details.causes?.[0]?.field, 'fieldManager');
    await apply('vm1', 'gitops', vmManifest('vm1'));
    const forced = await h.request('PATCH', `${VMS}/vm1?force=true`, JSON.stringify({}), {
      'content-type': 'application/merge-patch+json',
    });
    assert.equal(forced.status, 422);
    assert.equal(forced.json.details.causes?.[0]?.field, 'force');
    const wrongName = await apply('vm1', 'gitops', vmManifest('other'));
    assert.equal(wrongName.status, 400);
  });
});
