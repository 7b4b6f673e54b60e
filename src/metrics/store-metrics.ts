// The families read from the store at scrape time (MacPool usage, MAC collisions): the same on every replica, whichever
// one leads, since they show what the store holds rather than what one process counted.
import type { Registry } from 'prom-client';
import type { MacPool, VirtualMachineInstance } from '../resources/types.ts';
import type { ResourceStore } from '../store/types.ts';
import { MAC_COLLISION_FAMILIES, macCollisionSamples } from './mac-collisions.ts';
import { MACPOOL_FAMILIES, macPoolSamples } from './macpools.ts';
import { addScrapeSource } from './scrape.ts';

/** Registers them on `registry`; `onError` hears a failed read (its families then show no series in that scrape). */
export function registerStoreMetrics(
  registry: Registry,
  store: ResourceStore,
  onError?: (error: unknown) => void,
): () => void {
  const removePools = addScrapeSource(
    registry,
    MACPOOL_FAMILIES,
    async () => macPoolSamples((await store.list('MacPool')).items as MacPool[]),
    onError,
  );
  const removeCollisions = addScrapeSource(
    registry,
    MAC_COLLISION_FAMILIES,
    async () => {
      const { items } = await store.list('VirtualMachineInstance', {
        filter: (o) => (o as VirtualMachineInstance).status?.phase === 'Running',
      });
      return macCollisionSamples(items as VirtualMachineInstance[]);
    },
    onError,
  );
  return () => {
    removePools();
    removeCollisions();
  };
}
