// The official JavaScript Kubernetes client (@kubernetes/client-node) against `harrow serve` over TLS, with the
// kubeconfig Harrow writes: list, an informer's watch, patch, delete, and a 409 thrown as an ApiException with the Status.
import assert from 'node:assert/strict';
import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { after, before, describe, test } from 'node:test';
import { waitFor } from './harness.ts';
import { startKubectlServer, type KubectlServer } from './kubectl-harness.ts';

const VM = { group: 'kubevirt.io', version: 'v1', plural: 'virtualmachines', namespace: 'default' };

const vm = (name: string, mac?: string): KubernetesObject & Record<string, unknown> => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, labels: { client: 'js' } },
  spec: {
    runStrategy: 'Halted',
    template: {
      spec: {
        domain: {
          devices: {
            interfaces: [{ name: 'default', masquerade: {}, ...(mac ? { macAddress: mac } : {}) }],
          },
        },
        networks: [{ name: 'default', pod: {} }],
      },
    },
  },
});

interface VmObject extends KubernetesObject {
  spec: {
    runStrategy?: string;
    template: { spec: { domain: { devices: { interfaces: Array<{ macAddress?: string }> } } } };
  };
}

describe('@kubernetes/client-node against harrow serve (TLS)', { concurrency: false }, () => {
  let server: KubectlServer | undefined;
  let kc: KubeConfig;
  let api: CustomObjectsApi;
  before(async () => {
    server = await startKubectlServer();
    kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfig);
    api = kc.makeApiClient(CustomObjectsApi);
  });
  after(() => server?.stop());

  test('create, list, the informer sees adds, updates and deletes, patch, delete', async () => {
    const list = (): Promise<KubernetesListObject<VmObject>> =>
      api.listNamespacedCustomObject(VM) as Promise<KubernetesListObject<VmObject>>;
    const informer = makeInformer<VmObject>(
      kc,
      '/apis/kubevirt.io/v1/namespaces/default/virtualmachines',
      list,
    );
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.spec.runStrategy}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    try {
      const created = (await api.createNamespacedCustomObject({
        ...VM,
        body: vm('js-a'),
      })) as VmObject;
      const mac = created.spec.template.spec.domain.devices.interfaces[0]!.macAddress;
      assert.match(mac ?? '', /^02:[0-9a-f]{2}(:[0-9a-f]{2}){4}$/, 'the pool filled the MAC');
      const listed = await list();
      assert.deepEqual(
        listed.items.map((i) => i.metadata?.name),
        ['js-a'],
      );
      await waitFor(() => seen.includes('add js-a'), {
        message: `informer add; seen ${seen.join(', ')}`,
      });
      assert.equal(
        informer.get('js-a', 'default')?.metadata?.name,
        'js-a',
        'the informer caches it',
      );

      // The generated client sends application/json-patch+json for custom objects.
      const patched = (await api.patchNamespacedCustomObject({
        ...VM,
        name: 'js-a',
        body: [{ op: 'replace', path: '/spec/runStrategy', value: 'Manual' }],
      })) as VmObject;
      assert.equal(patched.spec.runStrategy, 'Manual');
      await waitFor(() => seen.includes('update js-a Manual'), {
        message: `informer update; seen ${seen.join(', ')}`,
      });

      await api.deleteNamespacedCustomObject({ ...VM, name: 'js-a' });
      await waitFor(() => seen.includes('delete js-a'), {
        message: `informer delete; seen ${seen.join(', ')}`,
      });
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });

  test('a MAC another VM holds is a 409 ApiException carrying the Status', async () => {
    const mac = '02:48:52:4a:53:01';
    await api.createNamespacedCustomObject({ ...VM, body: vm('js-holder', mac) });
    const err = await api.createNamespacedCustomObject({ ...VM, body: vm('js-second', mac) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiException, `an ApiException, got ${String(err)}`);
    assert.equal(err.code, 409);
    const status = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as {
      kind: string;
      reason: string;
      details?: { causes?: Array<{ field: string }> };
    };
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'Conflict');
    assert.ok(
      status.details?.causes?.some((c) => c.field.endsWith('interfaces[0].macAddress')),
      JSON.stringify(status),
    );
    // Nothing was created.
    const names = (
      (await api.listNamespacedCustomObject(VM)) as KubernetesListObject<VmObject>
    ).items.map((i) => i.metadata?.name);
    assert.deepEqual(names, ['js-holder']);
  });
});
