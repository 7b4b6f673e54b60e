// The disks a VMI's guest gets (the virt-launcher's domain disks): each disk's volume resolved to what the runtime
// attaches — a store image under an overlay, a NoCloud seed, a blank disk — in device order, the boot disk first.
import type { ImageBoot, ResolvedImage } from '../images/store.ts';
import { ANNOTATION_SELECTED_NODE } from '../resources/datavolume.ts';
import type {
  Disk,
  PersistentVolumeClaim,
  VirtualMachineInstance,
  Volume,
} from '../resources/types.ts';
import { claimNameOf, disksOf, quantityToBytes, volumesOf } from '../resources/volumes.ts';
import type { GuestBoot, GuestDisk } from '../runtime/types.ts';

export interface ImageResolver {
  resolve(reference: string): Promise<ResolvedImage | undefined>;
}

/** The claims a VMI's persistent volumes name, as the launcher reads them. */
export interface ClaimResolver {
  claim(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  /** Whether a DataVolume of that name exists (a dataVolume volume's claim is made by it). */
  dataVolumeExists(namespace: string, name: string): Promise<boolean>;
  /** This node: a claim bound elsewhere cannot be attached here. */
  nodeName: string;
}

/** PVC annotation the volumes controller writes: how a disk made from an image boots. */
export const ANNOTATION_DISK_BOOT = 'harrow.io/disk-boot';

export { claimNameOf };

/** A volume whose content cannot be had yet; the VMI waits, with a condition that says what to do. */
export interface UnresolvedVolume {
  volume: string;
  reason:
    | 'ImageNotFound'
    | 'VolumeNotSupported'
    | 'DataVolumeNotFound'
    | 'ClaimNotFound'
    | 'ClaimPending'
    | 'ClaimOnOtherNode';
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
  claims?: ClaimResolver,
): Promise<GuestDisksPlan> {
  const namespace = vmi.metadata.namespace ?? 'default';
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
      const planned = await persistentDisk(volume, namespace, claims);
      if ('problem' in planned) {
        problems.push(planned.problem);
        continue;
      }
      const guestDisk: GuestDisk = { ...base, source: planned.source };
      // A disk made from an image boots like the image: first in boot order, it is the boot disk (root=/dev/vda).
      if (planned.boot && boot === undefined) {
        boot = planned.boot;
        disks.unshift(guestDisk);
      } else disks.push(guestDisk);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, disks, ...(boot ? { boot } : {}) };
}

async function persistentDisk(
  volume: Volume,
  namespace: string,
  claims: ClaimResolver | undefined,
): Promise<{ source: GuestDisk['source']; boot?: ImageBoot } | { problem: UnresolvedVolume }> {
  const name = claimNameOf(volume) ?? '';
  const kind = volume.dataVolume ? 'DataVolume' : 'PersistentVolumeClaim';
  const problem = (reason: UnresolvedVolume['reason'], message: string) => ({
    problem: { volume: volume.name, reason, message: `volume ${volume.name}: ${message}` },
  });
  const claim = await claims?.claim(namespace, name);
  if (!claim?.metadata.uid) {
    if (volume.dataVolume && !(await claims?.dataVolumeExists(namespace, name)))
      return problem(
        'DataVolumeNotFound',
        `DataVolume ${namespace}/${name} does not exist (create it, or name it in the VM's spec.dataVolumeTemplates)`,
      );
    return problem(
      'ClaimNotFound',
      `PersistentVolumeClaim ${namespace}/${name} does not exist${volume.dataVolume ? ' yet' : ''}`,
    );
  }
  const node = claim.metadata.annotations?.[ANNOTATION_SELECTED_NODE];
  if (node && claims && node !== claims.nodeName)
    return problem(
      'ClaimOnOtherNode',
      `the disk of ${kind} ${name} is on node ${node}; Harrow's disks are local to a node`,
    );
  if (claim.status?.phase !== 'Bound') {
    const why = claim.status?.conditions?.find(
      (c) => c.type === 'Populated' && c.status === 'False',
    );
    return problem(
      'ClaimPending',
      `${kind} ${name} is being filled${why?.message ? `: ${why.message}` : ''}`,
    );
  }
  const boot = claim.metadata.annotations?.[ANNOTATION_DISK_BOOT];
  return {
    source: { type: 'persistentVolumeClaim', diskId: claim.metadata.uid },
    ...(boot ? { boot: JSON.parse(boot) as ImageBoot } : {}),
  };
}
