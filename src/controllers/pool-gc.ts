// pool-gc: a MAC held by a VM goes into quarantine once nothing uses it any more — not its manifest, not its running
// instance, not its launcher pod — and leaves the pool's books when its quarantine ends.
import type { MacAllocation, Pod } from '../resources/types.ts';
import { INDEX_VM, vmKeyOfPod, type ControllerContext } from './context.ts';
import { changed, objectKey, splitKey, type Result } from './framework.ts';
import { macsInUse } from '../network/macs-in-use.ts';
import { interfacesOf } from '../resources/virtualmachine.ts';

/** What pool-gc needs of the MAC allocation service. */
export interface MacReleaser {
  owners(): string[];
  macsOwnedBy(namespace: string, name: string): string[];
  releaseUnreferenced(
    namespace: string,
    name: string,
    referenced: ReadonlySet<string>,
  ): Promise<MacAllocation[]>;
  expireQuarantine(): Promise<{ freed: string[]; nextExpiry?: number }>;
}

/** The key of the quarantine sweep: not a VM key (VM keys always hold a slash). */
const QUARANTINE_KEY = 'quarantine';

/** Every MAC a VM's manifest, instance or launcher pods still use. */
function referencedMacs(ctx: ControllerContext, key: string): Set<string> {
  const macs = new Set<string>();
  const add = (mac: string | undefined): void => {
    if (mac) macs.add(mac.toLowerCase());
  };
  for (const iface of interfacesOf(ctx.informers.vms.get(key)?.spec.template?.spec))
    add(iface.macAddress);
  for (const mac of macsInUse(
    ctx.informers.vmis.get(key),
    ctx.informers.pods.byIndex(INDEX_VM, key) as Pod[],
  ))
    macs.add(mac);
  return macs;
}

export function poolGcController(ctx: ControllerContext, macs: MacReleaser): void {
  const controller = ctx.manager.controller({
    name: 'pool-gc',
    concurrency: ctx.concurrency,
    onStart: async () => {
      // Owners whose VM went while Harrow was down get looked at too.
      for (const owner of macs.owners()) controller.enqueue(owner);
      controller.enqueue(QUARANTINE_KEY);
    },
    reconcile: async (key): Promise<Result> => {
      if (key === QUARANTINE_KEY) {
        const { nextExpiry } = await macs.expireQuarantine();
        // Poll at least once a minute: quarantines added later may end sooner than the next one known now.
        const wait =
          nextExpiry === undefined
            ? 60_000
            : Math.min(60_000, Math.max(100, nextExpiry - ctx.now()));
        return { requeueAfter: wait };
      }
      const { namespace, name } = splitKey(key);
      if (namespace === undefined || macs.macsOwnedBy(namespace, name).length === 0) return {};
      const released = await macs.releaseUnreferenced(namespace, name, referencedMacs(ctx, key));
      if (released.length > 0) {
        ctx.logger.info(
          { namespace, vm: name, macs: released.map((a) => a.spec.macAddress) },
          'MACs released into quarantine',
        );
        controller.enqueue(QUARANTINE_KEY);
      }
      return {};
    },
  });
  const macsOf = (o: { spec?: unknown }): string =>
    JSON.stringify(
      interfacesOf((o.spec as { template?: { spec?: never } })?.template?.spec).map(
        (i) => i.macAddress,
      ),
    );
  ctx.informers.vms.onEvent((e) => {
    if (changed(e, macsOf)) controller.enqueue(objectKey(e.object));
  });
  ctx.informers.vmis.onEvent((e) => {
    if (e.type === 'DELETED' || e.type === 'ADDED') controller.enqueue(objectKey(e.object));
  });
  ctx.informers.pods.onEvent((e) => {
    const key = vmKeyOfPod(e.object);
    if (key && e.type === 'DELETED') controller.enqueue(key);
  });
}
