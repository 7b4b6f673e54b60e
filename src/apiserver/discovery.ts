// Discovery (/api, /apis, /apis/{group}/{version}, aggregated v2) and /version, read from kinds.ts, so kubectl finds every kind.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFound } from '../resources/errors.ts';
import { KINDS, REVIEW_KINDS, type KindInfo } from '../resources/kinds.ts';
import { acceptedVersion } from './accept.ts';
import { hasStatusSubresource } from './incoming-object.ts';

/** A subresource served by Harrow (KubeVirt's and Harrow's own action groups). */
export interface SubresourceInfo {
  group: string;
  version: string;
  /** `virtualmachines/start`. */
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

export const ACTION_SUBRESOURCES: readonly SubresourceInfo[] = [
  {
    group: 'subresources.kubevirt.io',
    version: 'v1',
    name: 'virtualmachines/start',
    kind: 'VirtualMachine',
    namespaced: true,
    verbs: ['update'],
  },
  {
    group: 'subresources.kubevirt.io',
    version: 'v1',
    name: 'virtualmachines/stop',
    kind: 'VirtualMachine',
    namespaced: true,
    verbs: ['update'],
  },
  {
    group: 'subresources.kubevirt.io',
    version: 'v1',
    name: 'virtualmachines/restart',
    kind: 'VirtualMachine',
    namespaced: true,
    verbs: ['update'],
  },
  {
    group: 'subresources.kubevirt.io',
    version: 'v1',
    name: 'virtualmachineinstances/interfacelist',
    kind: 'VirtualMachineInstance',
    namespaced: true,
    verbs: ['get'],
  },
  // The serial console (vmi-console.ts): a WebSocket, as KubeVirt lists it.
  {
    group: 'subresources.kubevirt.io',
    version: 'v1',
    name: 'virtualmachineinstances/console',
    kind: 'VirtualMachineInstance',
    namespaced: true,
    verbs: ['get'],
  },
  // The launcher pod's log: its guest-console-log container is the guest's serial log (vmi-console.ts).
  {
    group: '',
    version: 'v1',
    name: 'pods/log',
    kind: 'Pod',
    namespaced: true,
    verbs: ['get'],
  },
  // Restarts planned into a maintenance window (maintenance-actions.ts); the web UI offers them when listed here.
  {
    group: 'subresources.harrow.io',
    version: 'v1',
    name: 'virtualmachines/schedule-restart',
    kind: 'VirtualMachine',
    namespaced: true,
    verbs: ['update'],
  },
  {
    group: 'subresources.harrow.io',
    version: 'v1',
    name: 'virtualmachines/cancel-restart',
    kind: 'VirtualMachine',
    namespaced: true,
    verbs: ['update'],
  },
  // The two remedies for guest MAC drift (drift-remedies.ts): restart to restore, or adopt the guest's MAC.
  {
    group: 'subresources.harrow.io',
    version: 'v1',
    name: 'virtualmachines/restore-mac',
    kind: 'VirtualMachine',
    namespaced: true,
    verbs: ['update'],
  },
  {
    group: 'subresources.harrow.io',
    version: 'v1',
    name: 'virtualmachines/adopt-guest-mac',
    kind: 'VirtualMachine',
    namespaced: true,
    verbs: ['update'],
  },
  {
    group: 'subresources.harrow.io',
    version: 'v1',
    name: 'virtualmachineinstances/guest-exec',
    kind: 'VirtualMachineInstance',
    namespaced: true,
    verbs: ['create'],
  },
];

const STATUS_VERBS = ['get', 'patch', 'update'];

/** The stored kinds, then the reviews (authorization.k8s.io, create-only, never stored). */
const SERVED_KINDS: readonly KindInfo[] = [...KINDS, ...REVIEW_KINDS];

export const GIT_VERSION = 'v1.32.0-harrow';

interface GroupVersion {
  group: string;
  version: string;
}

/** Every non-core group/version, kinds' groups first (in kinds.ts order), then the action groups. */
export function servedGroups(): GroupVersion[] {
  const seen = new Map<string, GroupVersion>();
  for (const gv of [...SERVED_KINDS, ...ACTION_SUBRESOURCES]) {
    if (gv.group !== '' && !seen.has(gv.group))
      seen.set(gv.group, { group: gv.group, version: gv.version });
  }
  return [...seen.values()];
}

const groupVersionString = (gv: GroupVersion): string =>
  gv.group === '' ? gv.version : `${gv.group}/${gv.version}`;

interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

function legacyResources(gv: GroupVersion): ApiResource[] {
  const out: ApiResource[] = [];
  for (const k of SERVED_KINDS.filter((i) => i.group === gv.group && i.version === gv.version)) {
    out.push({
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: [...k.verbs],
      ...(k.shortNames.length > 0 ? { shortNames: [...k.shortNames] } : {}),
      ...(k.categories ? { categories: [...k.categories] } : {}),
    });
    if (hasStatusSubresource(k.kind)) {
      out.push({
        name: `${k.plural}/status`,
        singularName: '',
        namespaced: k.namespaced,
        kind: k.kind,
        verbs: STATUS_VERBS.filter((v) => k.verbs.includes(v as never)),
      });
    }
  }
  for (const s of ACTION_SUBRESOURCES.filter(
    (i) => i.group === gv.group && i.version === gv.version,
  )) {
    out.push({
      name: s.name,
      singularName: '',
      namespaced: s.namespaced,
      kind: s.kind,
      verbs: [...s.verbs],
    });
  }
  return out;
}

function apiResourceList(gv: GroupVersion): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersionString(gv),
    resources: legacyResources(gv),
  };
}

function apiGroup(gv: GroupVersion): unknown {
  const v = { groupVersion: groupVersionString(gv), version: gv.version };
  return { name: gv.group, versions: [v], preferredVersion: v };
}

// ---- aggregated discovery (apidiscovery.k8s.io/v2): one request instead of one per group ----

interface AggregatedSubresource {
  subresource: string;
  responseKind: { group: string; version: string; kind: string };
  verbs: string[];
}

function aggregatedResources(gv: GroupVersion): unknown[] {
  const byResource = new Map<string, Record<string, unknown>>();
  for (const k of SERVED_KINDS.filter((i) => i.group === gv.group && i.version === gv.version)) {
    const subresources: AggregatedSubresource[] = hasStatusSubresource(k.kind)
      ? [
          {
            subresource: 'status',
            responseKind: gvk(k),
            verbs: STATUS_VERBS.filter((v) => k.verbs.includes(v as never)),
          },
        ]
      : [];
    byResource.set(k.plural, {
      resource: k.plural,
      responseKind: gvk(k),
      scope: k.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: k.singular,
      verbs: [...k.verbs],
      ...(k.shortNames.length > 0 ? { shortNames: [...k.shortNames] } : {}),
      ...(k.categories ? { categories: [...k.categories] } : {}),
      ...(subresources.length > 0 ? { subresources } : {}),
    });
  }
  for (const s of ACTION_SUBRESOURCES.filter(
    (i) => i.group === gv.group && i.version === gv.version,
  )) {
    const [parent, sub] = s.name.split('/') as [string, string];
    // As the aggregator does for a subresource whose parent lives in another group: a parent entry without a
    // responseKind, which clients list only through its subresources.
    const entry = byResource.get(parent) ?? {
      resource: parent,
      scope: s.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: '',
      verbs: [],
      subresources: [],
    };
    byResource.set(parent, entry);
    const subs = (entry.subresources ??= []) as AggregatedSubresource[];
    subs.push({
      subresource: sub,
      responseKind: { group: s.group, version: s.version, kind: s.kind },
      verbs: [...s.verbs],
    });
  }
  return [...byResource.values()];
}

const gvk = (k: KindInfo): { group: string; version: string; kind: string } => ({
  group: k.group,
  version: k.version,
  kind: k.kind,
});

function aggregatedList(groups: GroupVersion[], apiVersion: string): unknown {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion,
    metadata: {},
    items: groups.map((gv) => ({
      metadata: { name: gv.group },
      versions: [{ version: gv.version, resources: aggregatedResources(gv), freshness: 'Current' }],
    })),
  };
}

/** The aggregated discovery version the client asked for in Accept (v2 or v2beta1), if any. */
export function aggregatedVersionAccepted(accept: string | undefined): string | undefined {
  return acceptedVersion(accept, 'apidiscovery.k8s.io', 'APIGroupDiscoveryList', ['v2', 'v2beta1']);
}

function sendDiscovery(
  request: FastifyRequest,
  reply: FastifyReply,
  groups: GroupVersion[],
  legacy: () => unknown,
): string | Buffer {
  const v = aggregatedVersionAccepted(request.headers.accept);
  // Clients cache discovery documents by content; Vary keeps a proxy from handing one form to a client asking for the other.
  reply.header('Vary', 'Accept');
  if (v) {
    reply.header(
      'Content-Type',
      `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
    );
    // A Buffer, so that Fastify sends the Content-Type exactly as Kubernetes does (a string would get it re-quoted).
    return Buffer.from(JSON.stringify(aggregatedList(groups, `apidiscovery.k8s.io/${v}`)));
  }
  reply.type('application/json');
  return JSON.stringify(legacy());
}

const CORE: GroupVersion = { group: '', version: 'v1' };

export function registerDiscovery(app: FastifyInstance): void {
  app.get('/api', async (request, reply) =>
    sendDiscovery(request, reply, [CORE], () => ({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: request.host }],
    })),
  );
  app.get('/api/v1', async () => apiResourceList(CORE));
  app.get('/apis', async (request, reply) =>
    sendDiscovery(request, reply, servedGroups(), () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: servedGroups().map(apiGroup),
    })),
  );
  const find = (group: string, version?: string): GroupVersion => {
    const gv = servedGroups().find(
      (g) => g.group === group && (version === undefined || g.version === version),
    );
    if (!gv)
      throw new NotFound(
        `the server could not find the requested resource (group ${group}${version ? `, version ${version}` : ''})`,
      );
    return gv;
  };
  app.get<{ Params: { group: string } }>('/apis/:group', async (request) => ({
    kind: 'APIGroup',
    apiVersion: 'v1',
    ...(apiGroup(find(request.params.group)) as object),
  }));
  app.get<{ Params: { group: string; version: string } }>(
    '/apis/:group/:version',
    async (request) => apiResourceList(find(request.params.group, request.params.version)),
  );
  app.get('/version', async () => ({
    major: '1',
    minor: '32',
    gitVersion: GIT_VERSION,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '',
    goVersion: '',
    compiler: 'harrow',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  }));
}
