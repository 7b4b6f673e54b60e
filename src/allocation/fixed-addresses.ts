// Fixed addresses held through the store: each address a VM (or bare VMI) fixes on a network is a FixedAddressClaim
// named after the network and the address, written atomically with the VM, so the store's unique key makes the address
// unique on its network under any concurrency, on any store (as a MacAllocation does for a MAC).
import {
  Conflict,
  HarrowError,
  fieldDuplicate,
  fieldInvalid,
  type StatusCause,
} from '../resources/errors.ts';
import type { KubeObject } from '../resources/meta.ts';
import { nadNetwork } from '../resources/nad.ts';
import type {
  MacAllocationOwner,
  NetworkAttachmentDefinition,
  VirtualMachineInstance,
  VMISpec,
} from '../resources/types.ts';
import { isFinished } from '../resources/vmi.ts';
import {
  fixedAddressClaimName,
  fixedAddressProblem,
  fixedAddressRequests,
  fixedAddressesOf,
  staticIpField,
  type FixedAddressRequest,
} from '../network/fixed-address.ts';
import type { ResourceStore, WriteOp } from '../store/types.ts';
import { holderName, type MacCarrier, type MayNameHolder } from './service.ts';

/** A store record, not served by the API: the address' holder is named in the 409 of whoever asks for it next. */
export const FIXED_ADDRESS_CLAIM = 'FixedAddressClaim';

export interface FixedAddressClaim extends KubeObject {
  kind: typeof FIXED_ADDRESS_CLAIM;
  spec: {
    address: string;
    /** `namespace/name` of the NAD. */
    network: string;
    holder: MacAllocationOwner;
  };
}

/** A write whose fixed addresses were checked: the claims to commit with it, and the changes for the audit record. */
export interface FixedAddressPlan {
  ops: WriteOp[];
  changes: Array<{ field: string; old?: string; new?: string }>;
}

const sameHolder = (h: MacAllocationOwner, c: MacCarrier): boolean =>
  h.kind === c.kind && h.namespace === c.namespace && h.name === c.name;

/**
 * The causes (naming the annotation) of fixed addresses an object may not ask for: an interface without a bridge network,
 * a network whose NAD is not there (its subnet is unknown), an address that is not a host address of the subnet or is
 * the gateway. Returns the requests that are valid when there is no cause.
 */
export async function checkFixedAddresses(
  store: ResourceStore,
  annotations: Record<string, string> | undefined,
  spec: VMISpec | undefined,
  namespace: string,
): Promise<{ requests: FixedAddressRequest[]; causes: StatusCause[] }> {
  const { requests, causes } = fixedAddressRequests(annotations, spec, namespace);
  for (const r of requests) {
    const field = staticIpField(r.interface);
    const nad = (await store.get({ kind: 'NetworkAttachmentDefinition', ...r.nad })) as
      NetworkAttachmentDefinition | undefined;
    if (!nad) {
      causes.push(
        fieldInvalid(
          field,
          `network-attachment-definition ${r.nad.namespace}/${r.nad.name} not found: a fixed address needs its network's subnet`,
        ),
      );
      continue;
    }
    let problem: string | undefined;
    try {
      problem = fixedAddressProblem(r.address, nadNetwork(nad));
    } catch (e) {
      problem = `network-attachment-definition ${r.nad.namespace}/${r.nad.name} has no usable subnet: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (problem) causes.push(fieldInvalid(field, problem));
  }
  return { requests, causes };
}

/** The claims a holder has now. */
async function claimsOf(store: ResourceStore, carrier: MacCarrier): Promise<FixedAddressClaim[]> {
  const { items } = await store.list(FIXED_ADDRESS_CLAIM, {
    filter: (o) => sameHolder((o as FixedAddressClaim).spec.holder, carrier),
  });
  return items as FixedAddressClaim[];
}

/**
 * The fixed addresses a VM's instance runs with now, by interface: until it stops they stay the VM's, whatever its
 * annotations say since (a change applies at the restart).
 */
async function runningAddresses(
  store: ResourceStore,
  namespace: string,
  vmName: string,
): Promise<Map<string, string>> {
  const vmi = (await store.get({
    kind: 'VirtualMachineInstance',
    namespace,
    name: vmName,
  })) as VirtualMachineInstance | undefined;
  return vmi && vmi.metadata.deletionTimestamp === undefined && !isFinished(vmi)
    ? fixedAddressesOf(vmi.metadata.annotations)
    : new Map();
}

/**
 * A claim is stale when its holder is gone, is another object of the same name (another uid), or neither fixes that
 * address on that network nor (a VM) runs an instance with it (a holder deleted around admission, e.g. with its
 * namespace, leaves its claims behind; so does a VM whose instance restarted without the address: they must not keep
 * the address from a new VM).
 */
export async function isStaleClaim(
  store: ResourceStore,
  claim: FixedAddressClaim,
): Promise<boolean> {
  const h = claim.spec.holder;
  const holder = await store.get({ kind: h.kind, namespace: h.namespace, name: h.name });
  if (!holder) return true;
  if (h.uid && holder.metadata.uid && h.uid !== holder.metadata.uid) return true;
  if (fixedAddressesOf(holder.metadata.annotations).get(h.interface) === claim.spec.address)
    return false;
  return (
    h.kind !== 'VirtualMachine' ||
    (await runningAddresses(store, h.namespace, h.name)).get(h.interface) !== claim.spec.address
  );
}

const describe = (claim: FixedAddressClaim, mayName: MayNameHolder): string =>
  mayName(claim.spec.holder.namespace)
    ? `is in use by ${holderName(claim.spec.holder)} (interface ${claim.spec.holder.interface})`
    : 'is in use by another VM';

/**
 * The store writes that make `requests` the holder's fixed addresses: a claim for each new address (one another holder
 * has is a 409 naming the holder, unless that claim is stale: then it is taken over), and the removal of the claims the
 * holder no longer asks for — except, unless the holder is `deleting`, those its VM's running instance still uses.
 * `requests` are checked ones (checkFixedAddresses).
 */
export async function planFixedAddresses(
  store: ResourceStore,
  carrier: MacCarrier,
  requests: FixedAddressRequest[],
  mayNameHolder: MayNameHolder = () => true,
  deleting = false,
): Promise<FixedAddressPlan> {
  const held = await claimsOf(store, carrier);
  const inUse =
    carrier.kind === 'VirtualMachine' && !deleting
      ? await runningAddresses(store, carrier.namespace, carrier.name)
      : new Map<string, string>();
  const ops: WriteOp[] = [];
  const changes: FixedAddressPlan['changes'] = [];
  const wanted = new Set<string>();
  for (const r of requests) {
    const name = fixedAddressClaimName(r.nad, r.address);
    wanted.add(name);
    const holder: MacAllocationOwner = {
      kind: carrier.kind,
      namespace: carrier.namespace,
      name: carrier.name,
      ...(carrier.uid ? { uid: carrier.uid } : {}),
      interface: r.interface,
    };
    const claim: FixedAddressClaim = {
      apiVersion: 'harrow.io/v1',
      kind: FIXED_ADDRESS_CLAIM,
      metadata: { name },
      spec: { address: r.address, network: `${r.nad.namespace}/${r.nad.name}`, holder },
    };
    const existing = (await store.get({ kind: FIXED_ADDRESS_CLAIM, name })) as
      FixedAddressClaim | undefined;
    if (!existing) {
      ops.push({ type: 'create', object: claim });
      changes.push({ field: staticIpField(r.interface), new: r.address });
      continue;
    }
    const mine = sameHolder(existing.spec.holder, carrier);
    if (mine && existing.spec.holder.interface === r.interface) continue;
    if (!mine && !(await isStaleClaim(store, existing))) {
      const field = staticIpField(r.interface);
      const message = `${r.address} on network ${claim.spec.network} ${describe(existing, mayNameHolder)}`;
      throw new Conflict(`${carrier.kind} "${carrier.name}": ${field}: ${message}`, {
        name: carrier.name,
        group: 'kubevirt.io',
        kind: carrier.kind,
        causes: [fieldDuplicate(field, message)],
      });
    }
    claim.metadata.resourceVersion = existing.metadata.resourceVersion;
    ops.push({ type: 'update', object: claim });
    if (!mine) changes.push({ field: staticIpField(r.interface), new: r.address });
  }
  for (const claim of held) {
    if (wanted.has(claim.metadata.name)) continue;
    if (inUse.get(claim.spec.holder.interface) === claim.spec.address) continue;
    ops.push({
      type: 'delete',
      ref: { kind: FIXED_ADDRESS_CLAIM, name: claim.metadata.name },
      ...(claim.metadata.resourceVersion
        ? { resourceVersion: claim.metadata.resourceVersion }
        : {}),
    });
    changes.push({ field: staticIpField(claim.spec.holder.interface), old: claim.spec.address });
  }
  return { ops, changes };
}

/**
 * The commit's claim write met a store that changed since the plan read it: another write claimed the address first
 * (AlreadyExists), or changed or removed the claim the plan takes over or gives up (Conflict, NotFound). The next plan
 * sees the winner, so the loser is admitted again (and then gets the 409 naming the holder).
 */
export const isLostFixedAddressRace = (e: unknown): e is HarrowError =>
  e instanceof HarrowError &&
  (e.reason === 'AlreadyExists' || e.reason === 'Conflict' || e.reason === 'NotFound') &&
  e.details.kind === 'fixedaddressclaims';
