// Harrow's roles (admin, operator, viewer, node) and the authorizer and read filters that enforce them on every API request.
import { NODE_USER_PREFIX, type Role } from '../resources/api-token.ts';
import type { KubeObject } from '../resources/meta.ts';
import type { UserInfo } from './admission/types.ts';
import type { Authorize } from './auth.ts';

/**
 * What each role may do. Namespaced kinds: only in the namespaces the token grants (a cluster-wide list of a
 * namespaced kind is 403 unless admin, as in Kubernetes). Cluster-scoped kinds: as written.
 *
 * | kind                                   | admin | operator (granted namespaces)                       | viewer (granted namespaces)          |
 * |----------------------------------------|-------|-----------------------------------------------------|--------------------------------------|
 * | VirtualMachine                         | all   | all verbs, start/stop/restart, Harrow subresources  | get, list, watch                     |
 * | VirtualMachineInstance                 | all   | all verbs, interfacelist, guest-exec, console       | get, list, watch, interfacelist      |
 * | VirtualMachineClone                    | all   | all verbs                                           | get, list, watch                     |
 * | DataVolume, PersistentVolumeClaim      | all   | all verbs                                           | get, list, watch                     |
 * | NetworkAttachmentDefinition, Pod,      | all   | get, list, watch (Pod also log: the serial log)     | get, list, watch                     |
 * |   Event, AuditRecord                   |       | (AuditRecords about cluster-scoped objects: admins only)                                   |
 * | MacAllocation (cluster-scoped)         | all   | get, list, watch — only allocations held by a VM of a granted namespace (others: 404 / left out) |
 * | MacPool, Node (cluster-scoped)         | all   | get, list, watch                                    | get, list, watch                     |
 * | Namespace (cluster-scoped)             | all   | get of a granted one; list/watch show granted only  | same as operator                     |
 * | ApiToken (cluster-scoped)              | all   | —                                                   | —                                    |
 * | other paths (/metrics)                 | all   | —                                                   | —                                    |
 *
 * The node role (an agent's token, user `system:node:NAME` in group `system:nodes`, as a kubelet's) reaches only what its
 * node runs, as Kubernetes' Node authorizer and NodeRestriction admission allow a kubelet (node-restriction.ts decides
 * what needs a store read):
 *
 * | kind                        | node NAME                                                                              |
 * |-----------------------------|----------------------------------------------------------------------------------------|
 * | Node                        | get, list, watch every Node (VXLAN peers); create, update, patch only Node NAME        |
 * | Pod                         | get, list, watch, update, patch — only pods with spec.nodeName NAME, spec unchanged    |
 * | VirtualMachineInstance      | get, list, watch, update, patch — only VMIs with status.nodeName NAME, spec unchanged  |
 * | VirtualMachine              | get, update, patch — only a VM whose VMI runs on NAME, its status only                 |
 * | NetworkAttachmentDefinition | get, list, watch (the networks its pods join, as Multus on every node reads them)      |
 * | PersistentVolumeClaim       | get, list, watch; update, patch of a claim whose disk is on it (selected-node NAME), or |
 * |                             |   choosing itself for an unplaced claim a VMI of its own uses; spec unchanged           |
 * | DataVolume                  | get                                                                                    |
 * | MacAllocation               | get (who holds a MAC a guest drifted to)                                               |
 * | Event                       | create, get, update, patch — events it sources (source.host NAME)                      |
 * | AuditRecord                 | create — records in its own name only                                                  |
 * | anything else               | —                                                                                      |
 *
 * Discovery (/api, /apis, /openapi, /version) is open to every authenticated user.
 */
export { ROLES, type Role } from '../resources/api-token.ts';

/** A user's role and namespaces, carried in its groups (`harrow:role:operator`, `harrow:namespace:a`) as Kubernetes carries them. */
export interface Grant {
  role: Role;
  namespaces: ReadonlySet<string>;
  /** The node role's node. */
  node?: string;
}

export const ROLE_GROUP_PREFIX = 'harrow:role:';
export const NAMESPACE_GROUP_PREFIX = 'harrow:namespace:';
/** Kubernetes' superuser group; the bootstrap admin token's user is in it. */
export const ADMIN_GROUP = 'system:masters';
/** Kubernetes' kubelet identity: user `system:node:NAME` in group `system:nodes`. */
export const NODE_GROUP = 'system:nodes';
export { NODE_USER_PREFIX, nodeUserName } from '../resources/api-token.ts';

/** The node a node-role user acts for; undefined for every other user. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes(NODE_GROUP) || !user.name.startsWith(NODE_USER_PREFIX))
    return undefined;
  const node = user.name.slice(NODE_USER_PREFIX.length);
  return node === '' ? undefined : node;
}

export function groupsOf(role: Role, namespaces: readonly string[]): string[] {
  if (role === 'admin') return [ADMIN_GROUP, 'system:authenticated'];
  if (role === 'node') return [NODE_GROUP, 'system:authenticated'];
  return [
    'system:authenticated',
    `${ROLE_GROUP_PREFIX}${role}`,
    ...namespaces.map((n) => `${NAMESPACE_GROUP_PREFIX}${n}`),
  ];
}

/** The user's grant; a user in no Harrow role (and not in system:masters) is a viewer of no namespace, i.e. of nothing namespaced. */
export function grantOf(user: UserInfo): Grant {
  if (user.groups.includes(ADMIN_GROUP) || user.groups.includes(`${ROLE_GROUP_PREFIX}admin`))
    return { role: 'admin', namespaces: new Set() };
  const node = nodeNameOf(user);
  if (node !== undefined) return { role: 'node', namespaces: new Set(), node };
  const role = user.groups.includes(`${ROLE_GROUP_PREFIX}operator`) ? 'operator' : 'viewer';
  const namespaces = new Set(
    user.groups
      .filter((g) => g.startsWith(NAMESPACE_GROUP_PREFIX))
      .map((g) => g.slice(NAMESPACE_GROUP_PREFIX.length)),
  );
  return { role, namespaces };
}

const READ = ['get', 'list', 'watch'] as const;
const ANY = '*';

/** Kinds both namespaced roles only read. */
const READ_ONLY: Record<string, readonly string[]> = Object.fromEntries(
  [
    'NetworkAttachmentDefinition',
    'Pod',
    'Event',
    'AuditRecord',
    'MacAllocation',
    'MacPool',
    'Namespace',
    'Node',
    'VirtualMachineImage',
  ].map((k) => [k, READ]),
);

/** Verbs per kind for the namespaced roles; ANY: every verb, subresources included. Kinds not named: nothing. */
const POLICY: Record<Exclude<Role, 'admin'>, Record<string, readonly string[]>> = {
  operator: {
    ...READ_ONLY,
    // pods/log is the guest's serial log: what was typed and printed on the console, as private as the console.
    Pod: [...READ, 'log'],
    VirtualMachine: [ANY],
    VirtualMachineInstance: [ANY],
    VirtualMachineClone: [ANY],
    DataVolume: [ANY],
    PersistentVolumeClaim: [ANY],
  },
  viewer: {
    ...READ_ONLY,
    VirtualMachine: READ,
    VirtualMachineInstance: [...READ, 'interfacelist'],
    VirtualMachineClone: READ,
    DataVolume: READ,
    PersistentVolumeClaim: READ,
  },
  // What the agent's node-side controllers read and write (src/agent, src/controllers launcher/network/observer/
  // connectivity), narrowed to its node by nodeReadFilter and node-restriction.ts.
  node: {
    Node: [...READ, 'create', 'update', 'patch'],
    Pod: [...READ, 'update', 'patch'],
    VirtualMachineInstance: [...READ, 'update', 'patch'],
    VirtualMachine: ['get', 'update', 'patch'],
    NetworkAttachmentDefinition: READ,
    // Claims: read (its VMIs' and a clone's source); written only where the disk is on it (node-restriction.ts).
    PersistentVolumeClaim: [...READ, 'update', 'patch'],
    DataVolume: ['get'],
    MacAllocation: ['get'],
    Event: ['create', 'get', 'update', 'patch'],
    AuditRecord: ['create'],
  },
};

/** Cluster-scoped kinds a namespaced role may read (filtered by readFilter where the objects belong to namespaces). */
const CLUSTER_SCOPED = new Set([
  'MacAllocation',
  'MacPool',
  'Namespace',
  'Node',
  'ApiToken',
  'VirtualMachineImage',
]);

/**
 * The role authorizer. `namespace` is the request's namespace (undefined for a cluster-scoped kind or a cluster-wide
 * list); `name` the object's name when there is one (a Namespace's own name is the namespace it grants).
 */
export const roleAuthorize: Authorize = (user, verb, kind, namespace, name) => {
  const grant = grantOf(user);
  if (grant.role === 'admin') return true;
  const verbs = POLICY[grant.role][kind];
  if (!verbs || !(verbs.includes(ANY) || verbs.includes(verb))) return false;
  if (grant.role === 'node') {
    // Every Node may be read; only its own written. Namespaced kinds: any namespace, narrowed to what runs on the node.
    if (kind === 'Node' && !READ.includes(verb as (typeof READ)[number]))
      return name === grant.node;
    return true;
  }
  if (kind === 'Namespace')
    return name === undefined ? verb === 'list' || verb === 'watch' : grant.namespaces.has(name);
  if (CLUSTER_SCOPED.has(kind)) return true;
  return namespace !== undefined && grant.namespaces.has(namespace);
};

/** The namespace a MacAllocation's holder VM lives in. */
function holderNamespace(o: KubeObject): string | undefined {
  const owner = (o as { spec?: { owner?: { namespace?: unknown } } }).spec?.owner;
  if (typeof owner?.namespace === 'string') return owner.namespace;
  return o.metadata.labels?.['harrow.io/owner-namespace'];
}

/** The namespace of the object an AuditRecord is about (undefined for a cluster-scoped one). */
function auditedNamespace(o: KubeObject): string | undefined {
  const ns = (o as { spec?: { resource?: { namespace?: unknown } } }).spec?.resource?.namespace;
  return typeof ns === 'string' ? ns : undefined;
}

/**
 * Which objects of a kind the user may see once the verb is allowed: undefined when all of them. Cluster-scoped objects
 * that belong to a namespace (a MacAllocation names its holder VM; a Namespace is one) are shown only for granted ones.
 */
export function readFilter(user: UserInfo, kind: string): ((o: KubeObject) => boolean) | undefined {
  const grant = grantOf(user);
  if (grant.role === 'admin') return undefined;
  if (grant.role === 'node') return nodeReadFilter(grant.node ?? '', kind);
  if (kind === 'MacAllocation') return (o) => grant.namespaces.has(holderNamespace(o) ?? '');
  if (kind === 'Namespace') return (o) => grant.namespaces.has(o.metadata.name);
  // Records about cluster-scoped objects (tokens, pools, namespaces) are kept in `default`: they are not a namespace's.
  if (kind === 'AuditRecord') return (o) => grant.namespaces.has(auditedNamespace(o) ?? '');
  return undefined;
}

/** What a node sees of the kinds it reads: pods and VMIs scheduled to it, the events it sourced; all of the others. */
function nodeReadFilter(node: string, kind: string): ((o: KubeObject) => boolean) | undefined {
  if (kind === 'Pod')
    return (o) => (o as { spec?: { nodeName?: unknown } }).spec?.nodeName === node;
  if (kind === 'VirtualMachineInstance')
    return (o) => (o as { status?: { nodeName?: unknown } }).status?.nodeName === node;
  if (kind === 'Event') return (o) => (o as { source?: { host?: unknown } }).source?.host === node;
  return undefined;
}

/** Whether the user may learn what is in `namespace` (e.g. which VM there holds a MAC). */
export function maySeeNamespace(user: UserInfo, namespace: string): boolean {
  const grant = grantOf(user);
  return grant.role === 'admin' || grant.namespaces.has(namespace);
}
