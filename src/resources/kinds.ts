// The resource kinds Harrow serves: group, version, plural, scope, short names and verbs (discovery reads this table).

export type Verb =
  'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface KindInfo {
  kind: string;
  listKind: string;
  group: string; // '' for the core group
  version: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: Verb[];
  categories?: string[];
}

const rw: Verb[] = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
];
const ro: Verb[] = ['get', 'list', 'watch'];

const k = (
  kind: string,
  group: string,
  plural: string,
  namespaced: boolean,
  shortNames: string[],
  verbs: Verb[],
  categories?: string[],
  version = 'v1',
): KindInfo => ({
  kind,
  listKind: `${kind}List`,
  group,
  version,
  plural,
  singular: kind.toLowerCase(),
  namespaced,
  shortNames,
  verbs,
  ...(categories ? { categories } : {}),
});

export const KINDS: readonly KindInfo[] = [
  k('VirtualMachine', 'kubevirt.io', 'virtualmachines', true, ['vm', 'vms'], rw, ['all']),
  k('VirtualMachineInstance', 'kubevirt.io', 'virtualmachineinstances', true, ['vmi', 'vmis'], rw, [
    'all',
  ]),
  // KubeVirt serves clones as v1beta1 (v1alpha1 is deprecated; there is no v1): manifests written for it apply unchanged.
  k(
    'VirtualMachineClone',
    'clone.kubevirt.io',
    'virtualmachineclones',
    true,
    ['vmclone', 'vmclones'],
    rw,
    undefined,
    'v1beta1',
  ),
  k(
    'NetworkAttachmentDefinition',
    'k8s.cni.cncf.io',
    'network-attachment-definitions',
    true,
    ['net-attach-def'],
    rw,
  ),
  k('MacPool', 'harrow.io', 'macpools', false, ['mp'], rw),
  k('MacAllocation', 'harrow.io', 'macallocations', false, ['macs'], ro),
  // Images in the local image store (src/images), listed by the images controller; managed with `harrow image`.
  k('VirtualMachineImage', 'harrow.io', 'virtualmachineimages', false, ['vmimage', 'vmimages'], ro),
  // CDI's DataVolume (a claim and how to fill it) and the core PersistentVolumeClaim: persistent disks.
  k('DataVolume', 'cdi.kubevirt.io', 'datavolumes', true, ['dv', 'dvs'], rw, ['all'], 'v1beta1'),
  k('AuditRecord', 'harrow.io', 'auditrecords', true, ['audit'], [...ro, 'create']),
  k('Pod', '', 'pods', true, ['po'], rw, ['all']),
  k('Event', '', 'events', true, ['ev'], rw),
  k('PersistentVolumeClaim', '', 'persistentvolumeclaims', true, ['pvc'], rw),
  k(
    'Namespace',
    '',
    'namespaces',
    false,
    ['ns'],
    ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  ),
  k('Node', '', 'nodes', false, ['no'], rw),
  // A user's API token, by its SHA-256 only (src/apiserver/tokens.ts); admins only.
  k('ApiToken', 'harrow.io', 'apitokens', false, ['token', 'tokens'], rw),
];

const byKind = new Map(KINDS.map((i) => [i.kind, i]));

export function kindInfo(kind: string): KindInfo {
  const info = byKind.get(kind);
  if (!info) throw new Error(`unknown kind ${kind}`);
  return info;
}

export const apiVersionOf = (info: KindInfo): string =>
  info.group === '' ? info.version : `${info.group}/${info.version}`;

export function findByPlural(group: string, version: string, plural: string): KindInfo | undefined {
  return KINDS.find((i) => i.group === group && i.version === version && i.plural === plural);
}

/**
 * authorization.k8s.io's self-reviews (`kubectl auth can-i`): create-only and never stored, so not in KINDS (which get
 * stored-object routes); discovery lists them beside KINDS.
 */
export const REVIEW_KINDS: readonly KindInfo[] = [
  k(
    'SelfSubjectAccessReview',
    'authorization.k8s.io',
    'selfsubjectaccessreviews',
    false,
    [],
    ['create'],
  ),
  k(
    'SelfSubjectRulesReview',
    'authorization.k8s.io',
    'selfsubjectrulesreviews',
    false,
    [],
    ['create'],
  ),
];
