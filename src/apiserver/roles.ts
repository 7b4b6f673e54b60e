// Harrow's roles (admin, operator, viewer) and the authorizer and read filters that enforce them on every API request.
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
 * Discovery (/api, /apis, /openapi, /version) is open to every authenticated user.
 */
export type Role = 'admin' | 'operator' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

/** A user's role and namespaces, carried in its groups (`harrow:role:operator`, `harrow:namespace:a`) as Kubernetes carries them. */
export interface Grant {
  role: Role;
  namespaces: ReadonlySet<string>;
}

export const ROLE_GROUP_PREFIX = 'harrow:role:';
export const NAMESPACE_GROUP_PREFIX = 'harrow:namespace:';
/** Kubernetes' superuser group; the bootstrap admin token's user is in it. */
export const ADMIN_GROUP = 'system:masters';

export function groupsOf(role: Role, namespaces: readonly string[]): string[] {
  if (role === 'admin') return [ADMIN_GROUP, 'system:authenticated'];
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
  if (kind === 'MacAllocation') return (o) => grant.namespaces.has(holderNamespace(o) ?? '');
  if (kind === 'Namespace') return (o) => grant.namespaces.has(o.metadata.name);
  // Records about cluster-scoped objects (tokens, pools, namespaces) are kept in `default`: they are not a namespace's.
  if (kind === 'AuditRecord') return (o) => grant.namespaces.has(auditedNamespace(o) ?? '');
  return undefined;
}

/** Whether the user may learn what is in `namespace` (e.g. which VM there holds a MAC). */
export function maySeeNamespace(user: UserInfo, namespace: string): boolean {
  const grant = grantOf(user);
  return grant.role === 'admin' || grant.namespaces.has(namespace);
}
