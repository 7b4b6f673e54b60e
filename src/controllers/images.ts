// images: mirrors the local image store (src/images) into VirtualMachineImage objects (harrow.io/v1, read-only), so
// kubectl and the UI see which images containerDisk volumes can name. The store's directory is the truth; this
// controller re-reads it on a short poll, as a kubelet re-lists its image store.
import type { ImageStore, ResolvedImage } from '../images/store.ts';
import type { KubeObject } from '../resources/meta.ts';
import { VIRTUAL_MACHINE_IMAGE, type VirtualMachineImage } from '../resources/types.ts';
import type { ControllerContext } from './context.ts';
import type { Result } from './framework.ts';

const SYNC_KEY = 'image-store';
const POLL_MS = 5_000;

/** The object that describes one stored image. */
export function imageObject(image: ResolvedImage): VirtualMachineImage {
  return {
    apiVersion: 'harrow.io/v1',
    kind: VIRTUAL_MACHINE_IMAGE,
    metadata: { name: image.name },
    spec: {
      aliases: image.aliases,
      source: image.source,
      ...(image.packages ? { packages: image.packages } : {}),
    },
    status: {
      phase: 'Ready',
      format: image.format,
      virtualSizeBytes: image.virtualSizeBytes,
      boot: image.boot.type,
      ...(image.contentKey ? { contentKey: image.contentKey } : {}),
      imported: image.created,
    },
  };
}

export function imagesController(ctx: ControllerContext, images: ImageStore): void {
  const log = ctx.logger.child({ controller: 'images' });
  const controller = ctx.manager.controller({
    name: 'images',
    concurrency: 1,
    onStart: async () => controller.enqueue(SYNC_KEY),
    reconcile: async (): Promise<Result> => {
      const stored = await images.list();
      const existing = (await ctx.store.list(VIRTUAL_MACHINE_IMAGE)).items as KubeObject[];
      const byName = new Map(existing.map((o) => [o.metadata.name, o]));
      for (const image of stored) {
        const want = imageObject(image);
        const have = byName.get(image.name);
        byName.delete(image.name);
        if (!have) {
          await ctx.store.create(want);
          log.info({ image: image.name }, 'image listed');
        } else if (
          JSON.stringify([have.spec, have.status]) !== JSON.stringify([want.spec, want.status])
        ) {
          await ctx.store.update({ ...have, spec: want.spec, status: want.status });
        }
      }
      for (const gone of byName.values()) {
        await ctx.store.delete({ kind: VIRTUAL_MACHINE_IMAGE, name: gone.metadata.name });
        log.info({ image: gone.metadata.name }, 'image no longer in the store');
      }
      return { requeueAfter: POLL_MS };
    },
  });
}
