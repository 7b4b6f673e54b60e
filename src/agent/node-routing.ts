// The runtime the apiserver uses for guest-exec and interfacelist: a guest on another node is reached through that
// node's agent API (Node annotation harrow.io/agent-url), a guest here through the local runtime.
import type { KubeObject } from '../resources/meta.ts';
import type { VirtualMachineInstance } from '../resources/types.ts';
import type { ExecResult, GuestObservation, Runtime } from '../runtime/types.ts';
import type { ResourceStore } from '../store/types.ts';
import { ANNOTATION_AGENT_URL } from './node-api.ts';

export interface NodeRoutingOptions {
  local: Runtime;
  store: ResourceStore;
  /** The token the agents' APIs accept. */
  token: string;
  /** This process's own node, if it runs one (its guests are local). */
  localNode?: string;
}

/** Where a VMI's guest is: undefined → the local runtime. */
async function agentUrlOf(o: NodeRoutingOptions, vmiUid: string): Promise<string | undefined> {
  const { items } = await o.store.list('VirtualMachineInstance', {
    filter: (v: KubeObject) => v.metadata.uid === vmiUid,
  });
  const node = (items[0] as VirtualMachineInstance | undefined)?.status?.nodeName;
  if (!node || node === o.localNode) return undefined;
  const nodeObject = await o.store.get({ kind: 'Node', name: node });
  const url = nodeObject?.metadata.annotations?.[ANNOTATION_AGENT_URL];
  if (!url)
    throw new Error(
      `node ${node} runs this guest but publishes no agent API (annotation ${ANNOTATION_AGENT_URL})`,
    );
  return url;
}

async function call<T>(
  o: NodeRoutingOptions,
  url: string,
  path: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<T | undefined> {
  const response = await fetch(url + path, {
    ...init,
    headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as T & { message?: string };
  if (response.status === 404 && path.startsWith('/observe')) return undefined;
  if (!response.ok)
    throw new Error(`node agent ${url}: ${body.message ?? `HTTP ${response.status}`}`);
  return body;
}

export function nodeRoutingRuntime(o: NodeRoutingOptions): Runtime {
  const routed: Pick<Runtime, 'observe' | 'exec'> = {
    // A local guest is served at once: finding a VMI by uid in the store is a scan of every VMI (with thousands of them,
    // each guest-exec or interfacelist would cost a full scan).
    async observe(vmiUid): Promise<GuestObservation | undefined> {
      if (o.local.hasGuest(vmiUid)) return o.local.observe(vmiUid);
      const url = await agentUrlOf(o, vmiUid);
      if (!url) return o.local.observe(vmiUid);
      return call<GuestObservation>(
        o,
        url,
        `/observe?vmiUid=${encodeURIComponent(vmiUid)}`,
        { method: 'GET' },
        15_000,
      );
    },
    async exec(vmiUid, argv, options): Promise<ExecResult> {
      if (o.local.hasGuest(vmiUid)) return o.local.exec(vmiUid, argv, options);
      const url = await agentUrlOf(o, vmiUid);
      if (!url) return o.local.exec(vmiUid, argv, options);
      const timeoutMs = options?.timeoutMs ?? 30_000;
      const result = await call<ExecResult>(
        o,
        url,
        '/exec',
        { method: 'POST', body: JSON.stringify({ vmiUid, argv, timeoutMs }) },
        timeoutMs + 10_000,
      );
      if (!result) throw new Error(`node agent ${url}: no answer to guest-exec`);
      return result;
    },
  };
  // Everything but observe and exec is the local runtime's (the apiserver uses only those two).
  return new Proxy(o.local, {
    get(target, prop, receiver) {
      if (prop === 'observe' || prop === 'exec') return routed[prop];
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
