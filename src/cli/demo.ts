// The demo objects `harrow serve --demo` creates when absent: a namespace, a bridge network in it, and a running VM on that network.
import type { HarrowClient } from '../client/client.ts';
import { ApiError } from '../client/errors.ts';
import type { KubeObject } from '../resources/meta.ts';

const DEMO_NAMESPACE = 'demo';

export const DEMO_OBJECTS: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEMO_NAMESPACE } },
  {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'demo-net', namespace: DEMO_NAMESPACE },
    spec: { config: JSON.stringify({ cniVersion: '0.3.1', name: 'demo-net', type: 'bridge' }) },
  },
  {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'demo', namespace: DEMO_NAMESPACE, labels: { app: 'demo' } },
    spec: {
      runStrategy: 'Always',
      template: {
        metadata: { labels: { 'kubevirt.io/vm': 'demo' } },
        spec: {
          domain: {
            cpu: { cores: 1 },
            memory: { guest: '128Mi' },
            devices: { interfaces: [{ name: 'default', bridge: {}, model: 'virtio' }] },
          },
          networks: [{ name: 'default', multus: { networkName: 'demo-net' } }],
        },
      },
    },
  },
];

/** Creates each demo object unless one of that name exists; returns a line per object. */
export async function ensureDemo(client: HarrowClient): Promise<string[]> {
  const lines: string[] = [];
  for (const o of DEMO_OBJECTS) {
    const what = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
    try {
      await client.create(
        o.kind,
        o.metadata.namespace ? { namespace: o.metadata.namespace } : {},
        structuredClone(o),
      );
      lines.push(`created ${what}`);
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'AlreadyExists') lines.push(`${what} exists`);
      else throw e;
    }
  }
  return lines;
}
