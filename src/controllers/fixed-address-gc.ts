// The fixed-address collector (node side): a network's DHCP server keeps a fixed address reserved for its interface's
// MAC also while the VM's pod is gone (a restart, a stopped VM), so the address is given back by this controller once
// nothing holds it: no live FixedAddressClaim (the VM was deleted, or its annotation removed and its instance restarted)
// and no live instance still running with it. Keyed by NAD.
import {
  FIXED_ADDRESS_CLAIM,
  isStaleClaim,
  type FixedAddressClaim,
} from '../allocation/fixed-addresses.ts';
import { fixedAddressRequests } from '../network/fixed-address.ts';
import { networkIdOf } from '../resources/nad.ts';
import type { VirtualMachine, VirtualMachineInstance, VMISpec } from '../resources/types.ts';
import { isFinished } from '../resources/vmi.ts';
import { nadKeysOfPod, type ControllerContext } from './context.ts';
import { objectKey, type Controller, type Result } from './framework.ts';

/** The fixed addresses an instance runs with (or a VM asks for), by `namespace/name` of their NAD. */
function fixedAddressesByNad(
  o: VirtualMachineInstance | VirtualMachine | undefined,
): Array<[string, string]> {
  if (!o) return [];
  const spec = o.kind === 'VirtualMachine' ? (o as VirtualMachine).spec?.template?.spec : o.spec;
  return fixedAddressRequests(
    o.metadata.annotations,
    spec as VMISpec | undefined,
    o.metadata.namespace ?? 'default',
  ).requests.map((r) => [`${r.nad.namespace}/${r.nad.name}`, r.address]);
}

export interface FixedAddressGcOptions {
  /**
   * Also look at VMs (where the control plane runs in the same process: a node agent may not list them), so a stopped
   * VM deleted, or one whose annotation is dropped, gives its address back at once rather than at the network's next
   * pod change.
   */
  watchVms?: boolean;
}

/** An instance that still holds its addresses: not finished and not on its way out. */
const isLive = (vmi: VirtualMachineInstance): boolean =>
  vmi.metadata.deletionTimestamp === undefined && !isFinished(vmi);

/** VMIs by each `namespace/name` of the NADs they ask a fixed address on. */
const INDEX_FIXED_ADDRESS_NAD = 'fixedAddressNad';

export function fixedAddressGcController(
  ctx: ControllerContext,
  options: FixedAddressGcOptions = {},
): Controller {
  const { store, runtime, informers } = ctx;
  const log = ctx.logger.child({ controller: 'fixed-address-gc' });
  const c = ctx.manager.controller({ name: 'fixed-address-gc', reconcile, concurrency: 1 });
  // A NAD's reconcile reads only the instances asking an address on it, not every VMI (10,000 per pod deletion).
  informers.vmis.addIndex(INDEX_FIXED_ADDRESS_NAD, (vmi) => [
    ...new Set(fixedAddressesByNad(vmi).map(([k]) => k)),
  ]);
  // A pod gone or an instance ending may leave an address nobody holds; so may a NAD's first sight (after a restart).
  informers.pods.onEvent((e) => {
    if (e.type === 'DELETED') for (const k of nadKeysOfPod(e.object)) c.enqueue(k);
  });
  informers.vmis.onEvent((e) => {
    if (e.type === 'DELETED' || !isLive(e.object))
      for (const [k] of fixedAddressesByNad(e.object)) c.enqueue(k);
  });
  if (options.watchVms)
    informers.vms.onEvent((e) => {
      const addresses = (vm: VirtualMachine | undefined): string =>
        JSON.stringify(fixedAddressesByNad(vm));
      if (e.type === 'DELETED' || addresses(e.old) !== addresses(e.object))
        for (const [k] of [...fixedAddressesByNad(e.old), ...fixedAddressesByNad(e.object)])
          c.enqueue(k);
    });
  informers.nads.onEvent((e) => {
    if (e.type !== 'DELETED') c.enqueue(objectKey(e.object));
  });
  return c;

  async function reconcile(key: string): Promise<Result> {
    const nad = informers.nads.get(key);
    if (!nad?.metadata.uid) return {}; // a deleted NAD's network goes whole (network-gc)
    let claims: FixedAddressClaim[];
    try {
      claims = (
        await store.list(FIXED_ADDRESS_CLAIM, {
          filter: (o) => (o as FixedAddressClaim).spec.network === key,
        })
      ).items as FixedAddressClaim[];
    } catch (e) {
      // A node agent may not read the claims: its reservations stay as they are (they never block a new holder).
      log.debug({ nad: key, err: e }, 'fixed address claims not readable here');
      return {};
    }
    const keep = new Set<string>();
    for (const claim of claims)
      if (!(await isStaleClaim(store, claim))) keep.add(claim.spec.address);
    for (const vmi of informers.vmis.byIndex(INDEX_FIXED_ADDRESS_NAD, key)) {
      if (!isLive(vmi)) continue;
      for (const [k, address] of fixedAddressesByNad(vmi)) if (k === key) keep.add(address);
    }
    const released = await runtime.pruneFixedAddresses(networkIdOf(nad), [...keep]);
    if (released.length > 0)
      log.info({ nad: key, addresses: released }, 'fixed addresses given back: nothing holds them');
    return {};
  }
}
