// The runtime the apiserver uses for guest-exec and interfacelist: a guest on another node is reached through that
// node's agent API (Node annotation harrow.io/agent-url), a guest here through the local runtime.
import { agentApiCredential, nodeOfTokenUser, type ApiToken } from '../apiserver/tokens.ts';
import type { KubeObject } from '../resources/meta.ts';
import type { VirtualMachineInstance } from '../resources/types.ts';
import type { ExecResult, GuestObservation, Runtime } from '../runtime/types.ts';
import type { ResourceStore } from '../store/types.ts';
import { ANNOTATION_AGENT_TOKEN_ID, ANNOTATION_AGENT_URL } from './node-api.ts';

export interface NodeRoutingOptions {
  local: Runtime;
  store: ResourceStore;
  /** This process's own node, if it runs one (its guests are local). */
  localNode?: string;
}

interface AgentEndpoint {
  url: string;
  /** What this node's agent accepts (agentApiCredential of its own node token): nothing any other agent would. */
  credential: string;
}

/**
 * The credential for node `node`'s agent: from the node token the agent names (its id, on the Node), which must be a
 * node token of this very node; a token of any other kind or node is never used, and a revoked one ends the access.
 */
async function agentCredentialOf(
  o: NodeRoutingOptions,
  node: string,
  tokenId: string | undefined,
): Promise<string> {
  if (!tokenId)
    throw new Error(
      `node ${node} names no node token (annotation ${ANNOTATION_AGENT_TOKEN_ID}): run its agent with \`harrow token create --node ${node}\`'s token`,
    );
  const token = (await o.store.get({ kind: 'ApiToken', name: tokenId })) as ApiToken | undefined;
  if (!token || token.spec.role !== 'node' || nodeOfTokenUser(token.spec.user) !== node)
    throw new Error(
      `node ${node}: token ${tokenId} (annotation ${ANNOTATION_AGENT_TOKEN_ID}) is not a live node token of ${node}; its agent API is not called`,
    );
  return agentApiCredential(token.spec.tokenHash, node);
}

/** Where a VMI's guest is: undefined → the local runtime. */
async function agentOf(o: NodeRoutingOptions, vmiUid: string): Promise<AgentEndpoint | undefined> {
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
  const tokenId = nodeObject?.metadata.annotations?.[ANNOTATION_AGENT_TOKEN_ID];
  return { url, credential: await agentCredentialOf(o, node, tokenId) };
}

async function call<T>(
  agent: AgentEndpoint,
  path: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<T | undefined> {
  const { url } = agent;
  const response = await fetch(url + path, {
    ...init,
    headers: { authorization: `Bearer ${agent.credential}`, 'content-type': 'application/json' },
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
      const agent = await agentOf(o, vmiUid);
      if (!agent) return o.local.observe(vmiUid);
      return call<GuestObservation>(
        agent,
        `/observe?vmiUid=${encodeURIComponent(vmiUid)}`,
        { method: 'GET' },
        15_000,
      );
    },
    async exec(vmiUid, argv, options): Promise<ExecResult> {
      if (o.local.hasGuest(vmiUid)) return o.local.exec(vmiUid, argv, options);
      const agent = await agentOf(o, vmiUid);
      if (!agent) return o.local.exec(vmiUid, argv, options);
      const timeoutMs = options?.timeoutMs ?? 30_000;
      const result = await call<ExecResult>(
        agent,
        '/exec',
        { method: 'POST', body: JSON.stringify({ vmiUid, argv, timeoutMs }) },
        timeoutMs + 10_000,
      );
      if (!result) throw new Error(`node agent ${agent.url}: no answer to guest-exec`);
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
