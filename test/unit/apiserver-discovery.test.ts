// Discovery documents kubectl reads (legacy and aggregated), /version and /openapi/v2, derived from kinds.ts.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { aggregatedVersionAccepted } from '../../src/apiserver/discovery.ts';
import { KINDS } from '../../src/resources/kinds.ts';
import { startServer, type Harness } from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

const AGGREGATED =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

describe('discovery', () => {
  it('/api and /api/v1 list the core kinds with their verbs and status subresources', async () => {
    h = await startServer();
    const api = await h.request('GET', '/api');
    assert.equal(api.json.kind, 'APIVersions');
    assert.deepEqual(api.json.versions, ['v1']);
    const v1 = await h.request('GET', '/api/v1');
    assert.equal(v1.json.kind, 'APIResourceList');
    assert.equal(v1.json.groupVersion, 'v1');
    const resources = v1.json.resources as unknown as ApiResource[];
    assert.deepEqual(
      resources.find((r) => r.name === 'pods'),
      {
        name: 'pods',
        singularName: 'pod',
        namespaced: true,
        kind: 'Pod',
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'],
        shortNames: ['po'],
        categories: ['all'],
      },
    );
    assert.deepEqual(resources.find((r) => r.name === 'pods/status')?.verbs, [
      'get',
      'patch',
      'update',
    ]);
    // The launcher pod's guest-console-log container is the serial log, read as `kubectl logs` reads any.
    assert.deepEqual(resources.find((r) => r.name === 'pods/log')?.verbs, ['get']);
    assert.equal(resources.find((r) => r.name === 'namespaces')?.namespaced, false);
  });

  it('/apis lists every group, and /apis/{group}/{version} each kind with its subresources', async () => {
    h = await startServer();
    const apis = await h.request('GET', '/apis');
    assert.equal(apis.json.kind, 'APIGroupList');
    const groups = (
      apis.json.groups as unknown as Array<{
        name: string;
        preferredVersion: { groupVersion: string };
      }>
    ).map((g) => g.name);
    for (const k of KINDS.filter((i) => i.group !== ''))
      assert.ok(groups.includes(k.group), k.group);
    assert.ok(
      groups.includes('subresources.kubevirt.io') && groups.includes('subresources.harrow.io'),
    );

    const kubevirt = await h.request('GET', '/apis/kubevirt.io/v1');
    const resources = kubevirt.json.resources as unknown as ApiResource[];
    const vms = resources.find((r) => r.name === 'virtualmachines');
    assert.deepEqual(vms?.shortNames, ['vm', 'vms']);
    assert.equal(vms?.kind, 'VirtualMachine');
    assert.ok(resources.some((r) => r.name === 'virtualmachines/status'));

    const sub = await h.request('GET', '/apis/subresources.kubevirt.io/v1');
    const names = (sub.json.resources as unknown as ApiResource[]).map(
      (r) => `${r.name} ${r.verbs.join(',')}`,
    );
    assert.deepEqual(names, [
      'virtualmachines/start update',
      'virtualmachines/stop update',
      'virtualmachines/restart update',
      'virtualmachineinstances/interfacelist get',
      'virtualmachineinstances/console get',
    ]);
    const harrowSub = await h.request('GET', '/apis/subresources.harrow.io/v1');
    assert.deepEqual(
      (harrowSub.json.resources as unknown as ApiResource[]).map((r) => r.name),
      [
        'virtualmachines/schedule-restart',
        'virtualmachines/cancel-restart',
        'virtualmachines/restore-mac',
        'virtualmachines/adopt-guest-mac',
        'virtualmachineinstances/guest-exec',
      ],
    );
    assert.equal((await h.request('GET', '/apis/harrow.io')).json.kind, 'APIGroup');
    assert.equal((await h.request('GET', '/apis/nope.io/v1')).status, 404);
  });

  it('answers aggregated discovery (apidiscovery.k8s.io/v2) when asked, with its Content-Type', async () => {
    h = await startServer();
    const r = await h.request('GET', '/apis', undefined, { accept: AGGREGATED });
    assert.equal(
      r.headers['content-type'],
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    assert.equal(r.json.kind, 'APIGroupDiscoveryList');
    const items = r.json.items as unknown as Array<{
      metadata: { name: string };
      versions: Array<{ version: string; resources: Array<Record<string, unknown>> }>;
    }>;
    const vm = items
      .find((g) => g.metadata.name === 'kubevirt.io')
      ?.versions[0]?.resources.find((x) => x.resource === 'virtualmachines');
    assert.deepEqual(vm?.responseKind, {
      group: 'kubevirt.io',
      version: 'v1',
      kind: 'VirtualMachine',
    });
    assert.equal(vm?.scope, 'Namespaced');
    assert.deepEqual(vm?.subresources, [
      {
        subresource: 'status',
        responseKind: { group: 'kubevirt.io', version: 'v1', kind: 'VirtualMachine' },
        verbs: ['get', 'patch', 'update'],
      },
    ]);
    const core = await h.request('GET', '/api', undefined, { accept: AGGREGATED });
    const coreItems = core.json.items as unknown as Array<{
      metadata: { name: string };
      versions: Array<{ resources: Array<{ resource: string }> }>;
    }>;
    assert.equal(coreItems[0]?.metadata.name, '');
    assert.ok(coreItems[0]?.versions[0]?.resources.some((x) => x.resource === 'pods'));
    const legacy = await h.request('GET', '/apis', undefined, { accept: 'application/json' });
    assert.equal(legacy.json.kind, 'APIGroupList');
    assert.match(String(legacy.headers['content-type']), /^application\/json/);
  });

  it('reads the aggregated version from Accept', () => {
    assert.equal(aggregatedVersionAccepted(AGGREGATED), 'v2');
    assert.equal(
      aggregatedVersionAccepted(
        'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
      ),
      'v2beta1',
    );
    assert.equal(aggregatedVersionAccepted('application/json'), undefined);
    assert.equal(aggregatedVersionAccepted(undefined), undefined);
  });

  it('/version names a Kubernetes-like version, and /openapi/v2 is a document without schemas', async () => {
    h = await startServer();
    const v = await h.request('GET', '/version');
    assert.equal(v.json.gitVersion, 'v1.32.0-harrow');
    assert.equal(v.json.major, '1');
    const openapi = await h.request('GET', '/openapi/v2');
    assert.equal(openapi.json.swagger, '2.0');
    const pb = await h.app.inject({
      method: 'GET',
      url: '/openapi/v2',
      headers: {
        authorization: `Bearer test-token-0123456789abcdef`,
        accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
      },
    });
    assert.equal(pb.statusCode, 200);
    assert.equal(pb.rawPayload.subarray(0, 5).toString('latin1'), '\n\u00032.0');
  });
});
