// The disks a VMI's guest gets (the virt-launcher's domain disks): each disk's volume resolved to what the runtime
// attaches — a store image under an overlay, a NoCloud seed, a blank disk — in device order, the boot disk first.
import type { ResolvedImage } from '../images/store.ts';
import type { Disk, VirtualMachineInstance, Volume } from '../resources/types.ts';
import { disksOf, quantityToBytes, volumesOf } from '../resources/volumes.ts';
import type { GuestBoot, GuestDisk } from '../runtime/types.ts';

export interface ImageResolver {
  resolve(reference: string): Promise<ResolvedImage | undefined>;
}

/** A volume whose content cannot be had yet; the VMI waits, with a condition that says what to do. */
export interface UnresolvedVolume {
  volume: string;
  reason: 'ImageNotFound' | 'VolumeNotSupported';
  message: string;
}

export type GuestDisksPlan =
  { ok: true; disks: GuestDisk[]; boot?: GuestBoot } | { ok: false; problems: UnresolvedVolume[] };

/** Disks in KubeVirt's boot order: the lowest bootOrder first, then the rest in the order the spec lists them. */
export function bootOrdered(disks: readonly Disk[]): Disk[] {
  const ordered = disks
    .filter((d) => d.bootOrder !== undefined)
    .sort((a, b) => (a.bootOrder ?? 0) - (b.bootOrder ?? 0));
  return [...ordered, ...disks.filter((d) => d.bootOrder === undefined)];
}

/**
 * cloud-init's instance-id: the VM's uid (a VMI of a VM keeps it over restarts, so cloud-init runs once per VM; a
 * clone is a new VM and gets a new one), or the VMI's own uid for a bare VMI.
 */
export function cloudInitInstanceId(vmi: VirtualMachineInstance): string {
  const owner = vmi.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine');
  return owner?.uid ?? vmi.metadata.uid ?? vmi.metadata.name;
}

const decode = (base64: string): string => Buffer.from(base64, 'base64').toString('utf8');

function cloudInitSource(vmi: VirtualMachineInstance, volume: Volume): GuestDisk['source'] {
  const body = volume.cloudInitNoCloud ?? {};
  const userData = body.userData ?? (body.userDataBase64 ? decode(body.userDataBase64) : '');
  const networkData =
    body.networkData ?? (body.networkDataBase64 ? decode(body.networkDataBase64) : undefined);
  const metaData =
    `instance-id: ${JSON.stringify(cloudInitInstanceId(vmi))}\n` +
    `local-hostname: ${JSON.stringify(vmi.metadata.name)}\n`;
  return {
    type: 'cloudInitNoCloud',
    userData,
    metaData,
    ...(networkData !== undefined ? { networkData } : {}),
  };
}

export async function planGuestDisks(
  vmi: VirtualMachineInstance,
  images: ImageResolver | undefined,
): Promise<GuestDisksPlan> {
  const volumes = new Map(volumesOf(vmi.spec).map((v) => [v.name, v]));
  const disks: GuestDisk[] = [];
  const problems: UnresolvedVolume[] = [];
  let boot: GuestBoot | undefined;
  for (const disk of bootOrdered(disksOf(vmi.spec))) {
    const volume = volumes.get(disk.name);
    if (!volume) continue; // admission refuses a disk without a volume
    const base = {
      name: disk.name,
      ...(disk.serial ? { serial: disk.serial } : {}),
      ...(disk.bootOrder !== undefined ? { bootOrder: disk.bootOrder } : {}),
    };
    if (volume.containerDisk) {
      const reference = volume.containerDisk.image;
      const image = await images?.resolve(reference);
      if (!image) {
        problems.push({
          volume: volume.name,
          reason: 'ImageNotFound',
          message: `image ${JSON.stringify(reference)} (volume ${volume.name}) is not in the image store: import it with \`harrow image import NAME FILE --alias ${reference}\`${reference.includes('debian') ? ' or build it with `harrow image build debian`' : ''}`,
        });
        continue;
      }
      const guestDisk: GuestDisk = {
        ...base,
        source: {
          type: 'containerDisk',
          image: image.name,
          file: image.path,
          format: image.format,
        },
      };
      // The first image in boot order is the boot disk, and the first device (the kernel's root=/dev/vda).
      if (boot === undefined) {
        boot = image.boot;
        disks.unshift(guestDisk);
      } else disks.push(guestDisk);
    } else if (
      volume.cloudInitNoCloud?.secretRef !== undefined ||
      volume.cloudInitNoCloud?.networkDataSecretRef !== undefined
    ) {
      problems.push({
        volume: volume.name,
        reason: 'VolumeNotSupported',
        message: `volume ${volume.name}: cloudInitNoCloud secretRef / networkDataSecretRef need Secrets, which Harrow does not serve yet (put the data in userData / networkData or their Base64 forms)`,
      });
    } else if (volume.cloudInitNoCloud) {
      disks.push({ ...base, source: cloudInitSource(vmi, volume) });
    } else if (volume.emptyDisk) {
      disks.push({
        ...base,
        source: {
          type: 'emptyDisk',
          capacityBytes: quantityToBytes(volume.emptyDisk.capacity) ?? 1024 ** 3,
        },
      });
    } else {
      problems.push({
        volume: volume.name,
        reason: 'VolumeNotSupported',
        message: `volume ${volume.name}: dataVolume and persistentVolumeClaim volumes are not served by Harrow yet (use containerDisk, cloudInitNoCloud or emptyDisk)`,
      });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, disks, ...(boot ? { boot } : {}) };
}
