// Kubernetes' NodeRestriction for Harrow's node role: what an agent's token may write (and which VMs it may read) is
// decided here from the stored objects, so one node's agent cannot touch what runs on another.
import { Forbidden } from '../resources/errors.ts';
import { ANNOTATION_SELECTED_NODE } from '../resources/datavolume.ts';
import { kindInfo } from '../resources/kinds.ts';
import type { KubeObject } from '../resources/meta.ts';
import type { VirtualMachineInstance } from '../resources/types.ts';
import { claimNameOf } from '../resources/volumes.ts';
import type { ResourceStore } from '../store/types.ts';
import type { AdmissionPlugin, AdmissionRequest, UserInfo } from './admission/types.ts';
import { nodeNameOf } from './roles.ts';
import { qualifiedResource } from './writes.ts';

/** An async per-object read check, after the role's verbs and read filter allowed the read. */
export type ReadCheck = (user: UserInfo, object: KubeObject) => Promise<boolean>;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const podNode = (o: KubeObject | undefined): unknown =>
  (o?.spec as { nodeName?: unknown } | undefined)?.nodeName;
const vmiNode = (o: KubeObject | undefined): unknown =>
  (o?.status as { nodeName?: unknown } | undefined)?.nodeName;

/** Whether the VM `namespace/name` has its instance (same name, as KubeVirt names it) on `node`. */
async function vmRunsOn(
  store: ResourceStore,
  node: string,
  namespace: string,
  name: string,
): Promise<boolean> {
  const vmi = await store.get({ kind: 'VirtualMachineInstance', namespace, name });
  return vmi !== undefined && vmiNode(vmi) === node;
}

const selectedNode = (o: KubeObject | undefined): string | undefined =>
  o?.metadata.annotations?.[ANNOTATION_SELECTED_NODE];

/** Whether a VMI running on `node` uses the claim `namespace/name` (its first consumer picks the claim's node). */
async function claimUsedOn(
  store: ResourceStore,
  node: string,
  namespace: string,
  name: string,
): Promise<boolean> {
  const { items } = await store.list('VirtualMachineInstance', {
    namespace,
    filter: (o) =>
      vmiNode(o) === node &&
      ((o as VirtualMachineInstance).spec.volumes ?? []).some((v) => claimNameOf(v) === name),
  });
  return items.length > 0;
}

/** A node may read a VM only while its VMI runs there (it mirrors the guest's state onto the VM's status). */
export function nodeReadCheck(store: ResourceStore): ReadCheck {
  return async (user, object) => {
    const node = nodeNameOf(user);
    if (node === undefined || object.kind !== 'VirtualMachine') return true;
    return vmRunsOn(store, node, object.metadata.namespace ?? 'default', object.metadata.name);
  };
}

/**
 * Writes of a node user: its pods' and VMIs' metadata and status (never their spec, never moving them off the node),
 * the status of VMs whose VMI runs there, events it sources and audit records in its own name. Runs before every other
 * plugin, so a refused write plans nothing.
 */
export function nodeRestrictionAdmission(store: ResourceStore): AdmissionPlugin {
  return {
    kinds: [
      'Node',
      'Pod',
      'VirtualMachineInstance',
      'VirtualMachine',
      'PersistentVolumeClaim',
      'Event',
      'AuditRecord',
    ],
    async admit(req: AdmissionRequest): Promise<void> {
      const node = nodeNameOf(req.user);
      if (node === undefined) return;
      const object = req.object ?? req.oldObject;
      const name = object?.metadata.name ?? '';
      const namespace = object?.metadata.namespace;
      const info = kindInfo(req.kind);
      const where = namespace ? `${namespace}/${name}` : name;
      const scope = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
      // Worded as the authorizer's refusals, then why: node "N" reaches only what runs on it.
      const refuse = (why: string): never => {
        throw new Forbidden(
          `${qualifiedResource(info)} "${name}" is forbidden: User "${req.user.name}" cannot ${req.operation} resource "${info.plural}" in API group "${info.group}"${scope}: node "${node}" ${why}`,
          { name, group: info.group, kind: info.plural },
        );
      };
      if (req.operation === 'delete') refuse(`deletes nothing`);
      const o = req.object as KubeObject;
      const old = req.oldObject;
      switch (req.kind) {
        case 'Node':
          if (name !== node) refuse(`can modify only its own Node`);
          return;
        case 'Pod':
          if (!old) return refuse('cannot create pods: the control plane does');
          if (podNode(old) !== node)
            refuse(`cannot modify pod ${where}: it is not scheduled to it`);
          if (!same(old.spec, o.spec)) refuse(`cannot change the spec of pod ${where}`);
          return;
        case 'VirtualMachineInstance':
          if (!old) return refuse('cannot create VMIs: the control plane does');
          if (vmiNode(old) !== node) refuse(`cannot modify VMI ${where}: it does not run there`);
          if (vmiNode(o) !== node) refuse(`cannot move VMI ${where} to another node`);
          if (!same(old.spec, o.spec)) refuse(`cannot change the spec of VMI ${where}`);
          return;
        case 'VirtualMachine':
          if (!old) return refuse('cannot create VMs');
          if (!(await vmRunsOn(store, node, namespace ?? 'default', name)))
            refuse(`cannot modify VM ${where}: its VMI does not run there`);
          if (
            !same(old.spec, o.spec) ||
            !same(old.metadata.labels, o.metadata.labels) ||
            !same(old.metadata.annotations, o.metadata.annotations)
          )
            refuse(`may change only the status of VM ${where}`);
          return;
        case 'PersistentVolumeClaim': {
          // Its own claims' disks (status, bind annotations), and the choice of itself for an unplaced claim a VMI of
          // its own uses (WaitForFirstConsumer).
          if (!old) return refuse('cannot create claims: the control plane does');
          if (!same(old.spec, o.spec)) refuse(`cannot change the spec of claim ${where}`);
          if (selectedNode(old) === node && selectedNode(o) === node) return;
          if (
            selectedNode(old) === undefined &&
            selectedNode(o) === node &&
            (await claimUsedOn(store, node, namespace ?? 'default', name))
          )
            return;
          return refuse(`cannot modify claim ${where}: its disk is not on it`);
        }
        case 'Event': {
          const host = (o as { source?: { host?: unknown } }).source?.host;
          if (host !== node) refuse(`records only events with source.host "${node}"`);
          return;
        }
        case 'AuditRecord': {
          const user = (o.spec as { user?: unknown } | undefined)?.user;
          if (user !== req.user.name)
            refuse(`writes audit records only in its own name (spec.user "${req.user.name}")`);
          return;
        }
      }
    },
  };
}
