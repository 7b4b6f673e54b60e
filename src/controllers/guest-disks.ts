// The disks a VMI's guest gets (the virt-launcher's domain disks): each disk's volume resolved to what the runtime
// attaches — a store image under an overlay, a NoCloud seed, a blank disk — in device order, the boot disk first.
import { createHash } from 'node:crypto';
import type { ImageBoot, ResolvedImage } from '../images/store.ts';
import { generatedNetworkConfig, networkDataOf } from '../network/network-config.ts';
import { ANNOTATION_SELECTED_NODE } from '../resources/datavolume.ts';
import {
  DATA_VOLUME,
  PERSISTENT_VOLUME_CLAIM,
  type Disk,
  type PersistentVolumeClaim,
  type VirtualMachineInstance,
  type Volume,
} from '../resources/types.ts';
import { claimNameOf, disksOf, quantityToBytes, volumesOf } from '../resources/volumes.ts';
import type { GuestDisk } from '../runtime/types.ts';
import type { ResourceStore } from '../store/types.ts';

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
  { ok: true; disks: GuestDisk[]; boot?: ImageBoot } | { ok: false; problems: UnresolvedVolume[] };

/** An operating system on a disk: the Debian image under TCG on a busy host has taken minutes to reach its agent. */
export const OS_DISK_BOOT_TIMEOUT_SECONDS = 900;

/**
 * How long a guest may take from start to its agent and DHCP lease: a property of what it boots — the boot image's own
 * `bootTimeoutSeconds`, else the default for an OS on a disk; a guest without a boot image runs the runtime's busybox
 * initramfs, which boots in seconds (`initramfsMs`).
 */
export function guestBootTimeoutMs(boot: ImageBoot | undefined, initramfsMs: number): number {
  if (!boot) return initramfsMs;
  return (boot.bootTimeoutSeconds ?? OS_DISK_BOOT_TIMEOUT_SECONDS) * 1000;
}

/** Claims as the store has them, on `nodeName`. */
export function storeClaimResolver(store: ResourceStore, nodeName: string): ClaimResolver {
  return {
    nodeName,
    claim: async (namespace, name) =>
      (await store.get({ kind: PERSISTENT_VOLUME_CLAIM, namespace, name })) as
        PersistentVolumeClaim | undefined,
    dataVolumeExists: async (namespace, name) =>
      (await store.get({ kind: DATA_VOLUME, namespace, name })) !== undefined,
  };
}

/** Disks in KubeVirt's boot order: the lowest bootOrder first, then the rest in the order the spec lists them. */
export function bootOrdered(disks: readonly Disk[]): Disk[] {
  const ordered = disks
    .filter((d) => d.bootOrder !== undefined)
    .sort((a, b) => (a.bootOrder ?? 0) - (b.bootOrder ?? 0));
  return [...ordered, ...disks.filter((d) => d.bootOrder === undefined)];
}

/**
 * cloud-init's instance-id: the VM's uid (a VMI of a VM keeps it over restarts, so cloud-init runs once per VM; a
 * clone is a new VM and gets a new one), or the VMI's own uid for a bare VMI. When Harrow wrote the network-config,
 * the first 12 hex digits of its SHA-256 follow (`<uid>-<digest>`): a changed config (a MAC changed through the
 * manifest) is a new instance, so cloud-init applies it at the next boot instead of keeping what it rendered before.
 */
export function cloudInitInstanceId(
  vmi: VirtualMachineInstance,
  generatedNetworkConfig?: string,
): string {
  const owner = vmi.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine');
  const base = owner?.uid ?? vmi.metadata.uid ?? vmi.metadata.name;
  if (generatedNetworkConfig === undefined) return base;
  return `${base}-${createHash('sha256').update(generatedNetworkConfig).digest('hex').slice(0, 12)}`;
}

const decode = (base64: string): string => Buffer.from(base64, 'base64').toString('utf8');

function cloudInitSource(
  vmi: VirtualMachineInstance,
  volume: Volume,
  nics: ReadonlyArray<{ mac: string }>,
): GuestDisk['source'] {
  const body = volume.cloudInitNoCloud ?? {};
  const userData = body.userData ?? (body.userDataBase64 ? decode(body.userDataBase64) : '');
  const given = networkDataOf(volume);
  // No networkData from the user: Harrow writes one that follows the NICs' MACs (cloud-init's own fallback would
  // match only the first NIC, by the MAC it had when the instance first booted).
  const generated =
    given === undefined && nics.length > 0 ? generatedNetworkConfig(nics) : undefined;
  const networkData = given ?? generated;
  const metaData =
    `instance-id: ${JSON.stringify(cloudInitInstanceId(vmi, generated))}\n` +
    `local-hostname: ${JSON.stringify(vmi.metadata.name)}\n`;
  return {
    type: 'cloudInitNoCloud',
    userData,
    metaData,
    ...(networkData !== undefined ? { networkData } : {}),
  };
}

/** `nics`: the guest's NICs in device order with the MACs they get (for the network-config Harrow generates). */
export async function planGuestDisks(
  vmi: VirtualMachineInstance,
  images: ImageResolver | undefined,
  claims?: ClaimResolver,
  nics: ReadonlyArray<{ mac: string }> = [],
): Promise<GuestDisksPlan> {
  const namespace = vmi.metadata.namespace ?? 'default';
  const volumes = new Map(volumesOf(vmi.spec).map((v) => [v.name, v]));
  const disks: GuestDisk[] = [];
  const problems: UnresolvedVolume[] = [];
  let boot: ImageBoot | undefined;
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
      disks.push({ ...base, source: cloudInitSource(vmi, volume, nics) });
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
