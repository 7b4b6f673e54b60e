// The generic REST API over the real SQLite store: CRUD for every kind, Kubernetes write semantics, admission, dryRun and audit.
import assert from 'node:assert/strict';
import { unknownFields } from '../../src/apiserver/field-validation.ts';
import { afterEach, describe, it } from 'node:test';
import type { AdmissionPlugin, AdmissionRequest } from '../../src/apiserver/admission/types.ts';
import { Invalid, fieldInvalid } from '../../src/resources/errors.ts';
import { KINDS, apiVersionOf, type KindInfo } from '../../src/resources/kinds.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import {
  TOKEN,
  VMS,
  auditRecords,
  startServer,
  vmManifest,
  type Harness,
} from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const collectionUrl = (info: KindInfo, namespace = 'default'): string => {
  const prefix = info.group === '' ? '/api/v1' : `/apis/${info.group}/${info.version}`;
  return info.namespaced
    ? `${prefix}/namespaces/${namespace}/${info.plural}`
    : `${prefix}/${info.plural}`;
};

/** The fields a kind's schema requires (this server runs no admission, so only the schema asks for them). */
const REQUIRED_SPEC: Record<string, Record<string, unknown>> = {
  VirtualMachine: { template: { spec: { domain: { devices: {} } } } },
  VirtualMachineInstance: { domain: { devices: {} } },
  VirtualMachineClone: { source: { kind: 'VirtualMachine', name: 'source' } },
};

const manifest = (info: KindInfo, name: string): KubeObject => ({
  apiVersion: apiVersionOf(info),
  kind: info.kind,
  metadata: { name, labels: { suite: 'crud' } },
  spec: { unknownField: { nested: [1, 'two'] }, ...REQUIRED_SPEC[info.kind] },
});

describe('CRUD for every kind', () => {
  for (const info of KINDS) {
    const what = !info.verbs.includes('create')
      ? 'read-only: list works, writes are 405'
      : info.verbs.includes('update')
        ? 'create, get, list, replace, patch, delete'
        : 'append-only: create, get, list; changes are 405';
    it(`${info.kind}: ${what}`, async () => {
      h = await startServer();
      const url = collectionUrl(info);
      const name = `crud-${info.singular}`;
      if (!info.verbs.includes('create')) {
        const post = await h.request('POST', url, manifest(info, name));
        assert.equal(post.status, 405);
        assert.equal(post.json.reason, 'MethodNotAllowed');
        assert.equal(post.json.kind, 'Status');
        const list = await h.request('GET', url);
        assert.equal(list.status, 200);
        assert.equal(list.json.kind, info.listKind);
        for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
          const r = await h.request(
            method,
            `${url}/x`,
            {},
            method === 'PATCH' ? { 'content-type': 'application/merge-patch+json' } : {},
          );
          assert.equal(r.status, 405, `${method} on a read-only kind`);
        }
        return;
      }
      const created = await h.request('POST', url, manifest(info, name));
      assert.equal(created.status, 201, created.body);
      assert.equal(created.json.metadata.name, name);
      assert.equal(created.json.metadata.namespace, info.namespaced ? 'default' : undefined);
      assert.match(created.json.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
      const {
        sequence: _s,
        previousHash: _p,
        hash: _h,
        ...sentSpec
      } = (created.json.spec ?? {}) as Record<string, unknown>; // an AuditRecord is sealed into the chain
      // A kind whose schema keeps unknown fields returns them as sent; a structural one (KubeVirt's, Event's) drops
      // them with a warning, as kube-apiserver does.
      const unknown = unknownFields(info, manifest(info, name));
      if (unknown.length === 0) {
        assert.deepEqual(
          sentSpec,
          { unknownField: { nested: [1, 'two'] }, ...REQUIRED_SPEC[info.kind] },
          'unknown fields are kept as sent',
        );
      } else {
        assert.equal(sentSpec.unknownField, undefined, 'unknown fields are pruned');
        assert.match(String(created.headers.warning), /unknown field/);
      }

      const got = await h.request('GET', `${url}/${name}`);
      assert.equal(got.status, 200);
      assert.equal(got.json.metadata.uid, created.json.metadata.uid);

      const list = await h.request('GET', url);
      assert.equal(list.json.kind, info.listKind);
      assert.equal(list.json.apiVersion, apiVersionOf(info));
      assert.match(list.json.metadata.resourceVersion ?? '', /^\d+$/);
      assert.ok(list.json.items.some((o) => o.metadata.name === name));

      if (!info.verbs.includes('update')) {
        // Append-only (AuditRecord): created, never changed or removed.
        for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
          const r = await h.request(
            method,
            `${url}/${name}`,
            {},
            method === 'PATCH' ? { 'content-type': 'application/merge-patch+json' } : {},
          );
          assert.equal(r.status, 405, `${method} on an append-only kind`);
        }
        return;
      }
      const replaced = await h.request('PUT', `${url}/${name}`, {
        ...got.json,
        metadata: { ...got.json.metadata, annotations: { replaced: 'yes' } },
        spec: { replaced: true, ...REQUIRED_SPEC[info.kind] },
      });
      assert.equal(replaced.status, 200, replaced.body);
      if (unknown.length === 0)
        assert.deepEqual(replaced.json.spec, { replaced: true, ...REQUIRED_SPEC[info.kind] });
      assert.ok(
        Number(replaced.json.metadata.resourceVersion) > Number(got.json.metadata.resourceVersion),
      );

      const patched = await h.request(
        'PATCH',
        `${url}/${name}`,
        { metadata: { labels: { patched: 'yes' } } },
        { 'content-type': 'application/merge-patch+json' },
      );
      assert.equal(patched.status, 200, patched.body);
      assert.deepEqual(patched.json.metadata.labels, { suite: 'crud', patched: 'yes' });

      const deleted = await h.request('DELETE', `${url}/${name}`);
      assert.equal(deleted.status, 200, deleted.body);
      assert.equal(deleted.json.metadata.name, name, 'delete returns the deleted object');
      assert.equal((await h.request('GET', `${url}/${name}`)).status, 404);
    });
  }
});

describe('create', () => {
  it('defaults metadata.namespace from the URL and rejects a different one', async () => {
    h = await startServer();
    const vm = vmManifest('web');
    assert.equal((await h.request('POST', VMS, vm)).json.metadata.namespace, 'default');
    await h.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'other' },
    });
    const r = await h.request('POST', VMS, {
      ...vmManifest('web2'),
      metadata: { name: 'web2', namespace: 'other' },
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.reason, 'BadRequest');
    assert.match(r.json.message, /namespace of the provided object \(other\) does not match/);
  });

  it('rejects names that are not DNS-1123 labels, naming metadata.name', async () => {
    h = await startServer();
    for (const name of ['Web', 'web_1', '-web', 'web-', 'a'.repeat(64), 'web.1', '']) {
      const r = await h.request('POST', VMS, { ...vmManifest('x'), metadata: { name } });
      assert.equal(r.status, 422, `${JSON.stringify(name)}: ${r.body}`);
      assert.equal(r.json.reason, 'Invalid');
      assert.equal(r.json.details.causes?.[0]?.field, 'metadata.name');
    }
    assert.equal(
      (await h.request('POST', VMS, { ...vmManifest('x'), metadata: { name: 'a'.repeat(63) } }))
        .status,
      201,
    );
  });

  it('names objects from generateName', async () => {
    h = await startServer();
    const r = await h.request('POST', VMS, {
      ...vmManifest('x'),
      metadata: { generateName: 'web-' },
    });
    assert.equal(r.status, 201, r.body);
    assert.match(r.json.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('answers 404 naming the namespace when it does not exist, and 409 AlreadyExists for a taken name', async () => {
    h = await startServer();
    const missing = await h.request(
      'POST',
      '/apis/kubevirt.io/v1/namespaces/nowhere/virtualmachines',
      vmManifest('web'),
    );
    assert.equal(missing.status, 404);
    assert.equal(missing.json.message, 'namespaces "nowhere" not found');
    assert.deepEqual(missing.json.details, { name: 'nowhere', group: '', kind: 'namespaces' });
    await h.request('POST', VMS, vmManifest('web'));
    const again = await h.request('POST', VMS, vmManifest('web'));
    assert.equal(again.status, 409);
    assert.equal(again.json.reason, 'AlreadyExists');
    assert.equal(again.json.message, 'virtualmachines.kubevirt.io "web" already exists');
  });

  it('rejects a kind or apiVersion that does not match the URL, and accepts YAML', async () => {
    h = await startServer();
    assert.equal((await h.request('POST', VMS, { ...vmManifest('a'), kind: 'Pod' })).status, 400);
    assert.equal(
      (await h.request('POST', VMS, { ...vmManifest('a'), apiVersion: 'v1' })).status,
      400,
    );
    const legacy = await h.request('POST', VMS, {
      ...vmManifest('old'),
      apiVersion: 'kubevirt.io/v1alpha3',
    });
    assert.equal(
      legacy.json.apiVersion,
      'kubevirt.io/v1',
      'an older version of the group is served as v1',
    );
    const yaml =
      'apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: from-yaml\nspec:\n  runStrategy: Halted\n  template:\n    spec:\n      domain:\n        devices: {}\n';
    const r = await h.request('POST', VMS, yaml, { 'content-type': 'application/yaml' });
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json.spec && (r.json.spec as { runStrategy: string }).runStrategy, 'Halted');
  });

  it('serves cluster-scoped kinds without a namespace, and not under one', async () => {
    h = await startServer();
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'host-1.example.com', namespace: 'ignored' },
    };
    const r = await h.request('POST', '/api/v1/nodes', node);
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json.metadata.namespace, undefined);
    assert.equal((await h.request('GET', '/api/v1/namespaces/default/nodes')).status, 404);
    const long = `${'a'.repeat(62)}.`.repeat(4).slice(0, 251);
    assert.equal(
      (
        await h.request('POST', '/api/v1/nodes', {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: long },
        })
      ).status,
      201,
      'a node may carry a 251-character DNS name',
    );
    assert.equal((await h.request('GET', `/api/v1/nodes/${long}`)).json.metadata.name, long);
    assert.equal(
      (await h.request('GET', '/apis/harrow.io/v1/namespaces/default/macpools')).status,
      404,
    );
  });
});

describe('status', () => {
  it('is not written through the main resource of a VM, but is through /status', async () => {
    h = await startServer();
    const created = await h.request('POST', VMS, {
      ...vmManifest('web'),
      status: { printableStatus: 'Bogus' },
    });
    assert.equal(created.json.status, undefined, 'status is dropped on create');
    const statusPut = await h.request('PUT', `${VMS}/web/status`, {
      ...created.json,
      spec: { changed: true },
      status: { printableStatus: 'Stopped' },
    });
    assert.equal(statusPut.status, 200, statusPut.body);
    assert.deepEqual(statusPut.json.status, { printableStatus: 'Stopped' });
    assert.deepEqual(
      statusPut.json.spec,
      created.json.spec,
      'a status write leaves the spec alone',
    );

    const put = await h.request('PUT', `${VMS}/web`, {
      ...statusPut.json,
      status: { printableStatus: 'Hacked' },
      metadata: { ...statusPut.json.metadata, labels: { l: '1' } },
    });
    assert.equal(put.status, 200);
    assert.deepEqual(
      put.json.status,
      { printableStatus: 'Stopped' },
      'PUT keeps the stored status',
    );
    assert.deepEqual(put.json.metadata.labels, { l: '1' });

    const patch = await h.request(
      'PATCH',
      `${VMS}/web`,
      { status: { printableStatus: 'Hacked' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.deepEqual(
      patch.json.status,
      { printableStatus: 'Stopped' },
      'PATCH keeps the stored status',
    );

    const statusPatch = await h.request(
      'PATCH',
      `${VMS}/web/status`,
      { status: { ready: true } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.deepEqual(statusPatch.json.status, { printableStatus: 'Stopped', ready: true });
    assert.equal(
      (await h.request('GET', `${VMS}/web/status`)).json.status?.toString(),
      statusPatch.json.status?.toString(),
    );
  });
});

describe('update', () => {
  it('answers 409 Conflict to a PUT with a stale resourceVersion', async () => {
    h = await startServer();
    const v1 = (await h.request('POST', VMS, vmManifest('web'))).json;
    const v2 = await h.request('PUT', `${VMS}/web`, {
      ...v1,
      metadata: { ...v1.metadata, labels: { v: '2' } },
    });
    assert.equal(v2.status, 200);
    const stale = await h.request('PUT', `${VMS}/web`, {
      ...v1,
      metadata: { ...v1.metadata, labels: { v: 'stale' } },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.reason, 'Conflict');
    assert.match(
      stale.json.message,
      /the object has been modified; please apply your changes to the latest version/,
    );
    assert.deepEqual((await h.request('GET', `${VMS}/web`)).json.metadata.labels, { v: '2' });
  });

  it('rejects a body whose name differs from the URL, and 404s a PUT of a missing object', async () => {
    h = await startServer();
    const v1 = (await h.request('POST', VMS, vmManifest('web'))).json;
    assert.equal(
      (await h.request('PUT', `${VMS}/web`, { ...v1, metadata: { ...v1.metadata, name: 'other' } }))
        .status,
      400,
    );
    const missing = await h.request('PUT', `${VMS}/nope`, { ...v1, metadata: { name: 'nope' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.message, 'virtualmachines.kubevirt.io "nope" not found');
  });

  it('writes nothing for an update that changes nothing', async () => {
    h = await startServer();
    const v1 = (await h.request('POST', VMS, vmManifest('web'))).json;
    const before = (await auditRecords(h.store)).length;
    const same = await h.request('PUT', `${VMS}/web`, v1);
    assert.equal(same.status, 200);
    assert.equal(same.json.metadata.resourceVersion, v1.metadata.resourceVersion);
    assert.equal((await auditRecords(h.store)).length, before);
  });

  it('applies JSON patches with test, and strategic merge patches as merge patches', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('web'));
    const json = 'application/json-patch+json';
    const ok = await h.request(
      'PATCH',
      `${VMS}/web`,
      [
        { op: 'test', path: '/spec/runStrategy', value: 'Halted' },
        { op: 'replace', path: '/spec/runStrategy', value: 'Always' },
        {
          op: 'add',
          path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
          value: '02:00:00:00:00:01',
        },
      ],
      { 'content-type': json },
    );
    assert.equal(ok.status, 200, ok.body);
    const spec = ok.json.spec as {
      runStrategy: string;
      template: { spec: { domain: { devices: { interfaces: Array<{ macAddress: string }> } } } };
    };
    assert.equal(spec.runStrategy, 'Always');
    assert.equal(spec.template.spec.domain.devices.interfaces[0]?.macAddress, '02:00:00:00:00:01');
    const failed = await h.request(
      'PATCH',
      `${VMS}/web`,
      [{ op: 'test', path: '/spec/runStrategy', value: 'Halted' }],
      { 'content-type': json },
    );
    assert.equal(failed.status, 422);
    assert.equal(failed.json.details.causes?.[0]?.field, 'spec.runStrategy');
    const smp = await h.request(
      'PATCH',
      `${VMS}/web`,
      { metadata: { labels: { s: '1' } } },
      { 'content-type': 'application/strategic-merge-patch+json' },
    );
    assert.equal(smp.status, 200);
    assert.deepEqual(smp.json.metadata.labels, { app: 'web', s: '1' });
    const unsupported = await h.request(
      'PATCH',
      `${VMS}/web`,
      { a: 1 },
      { 'content-type': 'application/json' },
    );
    assert.equal(unsupported.status, 415);
    assert.equal(unsupported.json.reason, 'UnsupportedMediaType');
  });

  it('treats a resourceVersion in a patch as a precondition', async () => {
    h = await startServer();
    const v1 = (await h.request('POST', VMS, vmManifest('web'))).json;
    await h.request(
      'PATCH',
      `${VMS}/web`,
      { metadata: { labels: { a: '1' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    const stale = await h.request(
      'PATCH',
      `${VMS}/web`,
      { metadata: { resourceVersion: v1.metadata.resourceVersion, labels: { a: '2' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(stale.status, 409);
  });
});

describe('delete', () => {
  it('honours resourceVersion and uid preconditions', async () => {
    h = await startServer();
    const v1 = (await h.request('POST', VMS, vmManifest('web'))).json;
    const wrongRv = await h.request('DELETE', `${VMS}/web`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      preconditions: { resourceVersion: '1' },
    });
    assert.equal(wrongRv.status, 409);
    const wrongUid = await h.request('DELETE', `${VMS}/web`, {
      preconditions: { uid: '00000000-0000-0000-0000-000000000000' },
    });
    assert.equal(wrongUid.status, 409);
    const ok = await h.request('DELETE', `${VMS}/web`, {
      preconditions: { resourceVersion: v1.metadata.resourceVersion, uid: v1.metadata.uid },
    });
    assert.equal(ok.status, 200, ok.body);
    assert.equal((await h.request('DELETE', `${VMS}/web`)).status, 404);
  });

  it('deletes a collection by label selector', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('a'));
    await h.request('POST', VMS, {
      ...vmManifest('b'),
      metadata: { name: 'b', labels: { app: 'db' } },
    });
    const r = await h.request('DELETE', `${VMS}?labelSelector=app%3Dweb`);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(
      r.json.items.map((o) => o.metadata.name),
      ['a'],
    );
    assert.deepEqual(
      (await h.request('GET', VMS)).json.items.map((o) => o.metadata.name),
      ['b'],
    );
  });

  it('never deletes the default namespace, and deletes another only once it is empty', async () => {
    h = await startServer();
    const forbidden = await h.request('DELETE', '/api/v1/namespaces/default');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.json.reason, 'Forbidden');
    await h.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team' },
    });
    await h.request(
      'POST',
      '/apis/kubevirt.io/v1/namespaces/team/virtualmachines',
      vmManifest('web'),
    );
    const busy = await h.request('DELETE', '/api/v1/namespaces/team');
    assert.equal(busy.status, 409);
    assert.match(busy.json.message, /VirtualMachine "web"/);
    await h.request('DELETE', '/apis/kubevirt.io/v1/namespaces/team/virtualmachines/web');
    assert.equal((await h.request('DELETE', '/api/v1/namespaces/team')).status, 200);
  });
});

/** A real admission plugin for the tests: records what it saw, mutates, adds an op, warns, and counts rollbacks. */
function recordingPlugin(
  options: { reject?: (r: AdmissionRequest) => boolean; opName?: string } = {},
): AdmissionPlugin & {
  seen: AdmissionRequest[];
  rollbacks: number;
  commits: number;
} {
  const plugin = {
    kinds: ['VirtualMachine'],
    seen: [] as AdmissionRequest[],
    rollbacks: 0,
    commits: 0,
    async admit(req: AdmissionRequest) {
      plugin.seen.push(structuredClone(req));
      if (options.reject?.(req))
        throw new Invalid('VirtualMachine is invalid', [
          fieldInvalid('spec.runStrategy', 'not allowed by the test plugin'),
        ]);
      if (req.object)
        req.object.metadata.annotations = {
          ...req.object.metadata.annotations,
          'test/admitted': req.operation,
        };
      const name =
        options.opName ?? `${req.operation}-${(req.object ?? req.oldObject)!.metadata.name}`;
      return {
        ops: [
          {
            type: 'create' as const,
            object: {
              apiVersion: 'v1',
              kind: 'Event',
              metadata: { name, namespace: 'default' },
              reason: 'Admitted',
            },
          },
        ],
        warnings: [
          `admitted "${req.operation}"`,
          ...(req.object?.metadata.annotations?.['test/warn']
            ? [req.object.metadata.annotations['test/warn']]
            : []),
        ],
        changes: [{ field: 'test', new: req.operation }],
        rollback: () => {
          plugin.rollbacks++;
        },
        committed: () => {
          plugin.commits++;
        },
      };
    },
  };
  return plugin;
}

describe('admission', () => {
  it('mutates the object, commits its ops with the write, and sends its warnings', async () => {
    const plugin = recordingPlugin();
    h = await startServer({ admission: [plugin] });
    const r = await h.request('POST', VMS, vmManifest('web'));
    assert.equal(r.status, 201);
    assert.equal(r.json.metadata.annotations?.['test/admitted'], 'create');
    assert.deepEqual([r.headers.warning].flat(), ['299 - "admitted \\"create\\""']);
    assert.ok(
      await h.store.get({ kind: 'Event', namespace: 'default', name: 'create-web' }),
      'the plugin op was committed',
    );
    assert.equal(plugin.commits, 1);
    assert.equal(plugin.seen[0]?.user.name, 'alice');
    assert.equal(plugin.seen[0]?.dryRun, false);
    const update = await h.request(
      'PATCH',
      `${VMS}/web`,
      { spec: { runStrategy: 'Always' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(update.status, 200);
    assert.equal(plugin.seen[1]?.operation, 'update');
    assert.equal(
      (plugin.seen[1]?.oldObject?.spec as { runStrategy: string }).runStrategy,
      'Halted',
    );
    await h.request('DELETE', `${VMS}/web`);
    assert.equal(plugin.seen[2]?.operation, 'delete');
  });

  it('sends warnings in ASCII (an arrow as ->) and control characters as spaces', async () => {
    const server = await startServer({ admission: [recordingPlugin()] });
    h = server;
    const raw = await server.app.inject({
      method: 'POST',
      url: VMS,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        ...vmManifest('web-2'),
        metadata: {
          name: 'web-2',
          annotations: { 'test/warn': 'MAC 52:54:00 → outside the pool\nreally' },
        },
      }),
    });
    assert.deepEqual(
      [raw.headers.warning].flat(),
      ['299 - "admitted \\"create\\""', '299 - "MAC 52:54:00 -> outside the pool really"'],
      'warnings arrive in ASCII, control characters as spaces',
    );
  });

  it('a rejection is the Status the plugin threw, and nothing is written', async () => {
    const plugin = recordingPlugin({ reject: () => true });
    h = await startServer({ admission: [plugin] });
    const r = await h.request('POST', VMS, vmManifest('web'));
    assert.equal(r.status, 422);
    assert.equal(r.json.details.causes?.[0]?.field, 'spec.runStrategy');
    assert.equal(
      await h.store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'web' }),
      undefined,
    );
  });

  it('when the commit fails, the write and its ops are both absent and rollback is called', async () => {
    const plugin = recordingPlugin({ opName: 'taken' });
    h = await startServer({ admission: [plugin] });
    await h.store.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'taken', namespace: 'default' },
    });
    const r = await h.request('POST', VMS, vmManifest('web'));
    assert.equal(r.status, 409, r.body);
    assert.equal(
      await h.store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'web' }),
      undefined,
    );
    assert.equal(plugin.rollbacks, 1);
    assert.equal(plugin.commits, 0);
  });
});

describe('dryRun=All', () => {
  it('runs admission, calls rollback, stores nothing and returns the would-be object', async () => {
    const plugin = recordingPlugin();
    h = await startServer({ admission: [plugin] });
    const rvBefore = await h.store.currentResourceVersion();
    const created = await h.request('POST', `${VMS}?dryRun=All`, vmManifest('web'));
    assert.equal(created.status, 201);
    assert.equal(created.json.metadata.annotations?.['test/admitted'], 'create');
    assert.match(created.json.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(plugin.seen[0]?.dryRun, true);
    assert.equal(plugin.rollbacks, 1);
    assert.equal(
      await h.store.currentResourceVersion(),
      rvBefore,
      'nothing at all was written, not even an audit record',
    );

    await h.request('POST', VMS, vmManifest('web'));
    const rv = await h.store.currentResourceVersion();
    const patched = await h.request(
      'PATCH',
      `${VMS}/web?dryRun=All`,
      { spec: { runStrategy: 'Always' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal((patched.json.spec as { runStrategy: string }).runStrategy, 'Always');
    const deleted = await h.request('DELETE', `${VMS}/web`, { dryRun: ['All'] });
    assert.equal(deleted.status, 200);
    const put = await h.request('PUT', `${VMS}/web?dryRun=All`, {
      ...patched.json,
      spec: { ...(patched.json.spec as object), x: 1 },
    });
    assert.equal(put.status, 200);
    assert.equal(await h.store.currentResourceVersion(), rv);
    assert.equal(plugin.rollbacks, 4);
    const stored = await h.store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'web' });
    assert.equal((stored?.spec as { runStrategy: string }).runStrategy, 'Halted');
    assert.equal((await h.request('POST', `${VMS}?dryRun=Some`, vmManifest('x'))).status, 400);
  });
});

describe('audit', () => {
  it('records a successful write in the same commit, with the field changes', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('web'));
    const patched = await h.request(
      'PATCH',
      `${VMS}/web`,
      { spec: { runStrategy: 'Always' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    const records = await auditRecords(h.store);
    assert.equal(records.length, 2);
    const [create, patch] = records.map(
      (r) =>
        r.spec as {
          user: string;
          verb: string;
          resource: unknown;
          outcome: { code: number; status: string };
          changes?: unknown;
        },
    );
    assert.deepEqual(create?.resource, {
      kind: 'VirtualMachine',
      namespace: 'default',
      name: 'web',
    });
    assert.equal(create?.verb, 'create');
    assert.equal(create?.user, 'alice');
    assert.deepEqual(create?.outcome, { code: 201, status: 'Success' });
    assert.equal(patch?.verb, 'patch');
    assert.deepEqual(patch?.changes, [{ field: 'spec.runStrategy', old: 'Halted', new: 'Always' }]);
    // Same commit: the record's resourceVersion directly follows the object's.
    assert.equal(
      Number(records[1]!.metadata.resourceVersion),
      Number(patched.json.metadata.resourceVersion) + 1,
    );
  });

  it('records a failed write with its code and message, and a dry run not at all', async () => {
    h = await startServer();
    await h.request('PUT', `${VMS}/ghost`, vmManifest('ghost'));
    await h.request('POST', VMS, { ...vmManifest('x'), metadata: { name: 'Bad_Name' } });
    await h.request('POST', `${VMS}?dryRun=All`, vmManifest('dry'));
    await h.request('POST', VMS, '{"broken', { 'content-type': 'application/json' });
    const records = (await auditRecords(h.store)).map(
      (r) =>
        r.spec as {
          verb: string;
          resource: { name: string };
          outcome: { code: number; status: string; message: string };
        },
    );
    assert.deepEqual(
      records.map((r) => [r.verb, r.resource.name, r.outcome.code, r.outcome.status]),
      [
        ['update', 'ghost', 404, 'Failure'],
        ['create', 'Bad_Name', 422, 'Failure'],
        ['create', '', 400, 'Failure'],
      ],
    );
    assert.equal(records[0]?.outcome.message, 'virtualmachines.kubevirt.io "ghost" not found');
  });

  it('AuditRecords cannot be written through the API', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('web'));
    const [record] = await auditRecords(h.store);
    const url = `/apis/harrow.io/v1/namespaces/default/auditrecords/${record!.metadata.name}`;
    assert.equal((await h.request('DELETE', url)).status, 405);
    assert.equal((await h.request('GET', url)).status, 200);
  });
});
