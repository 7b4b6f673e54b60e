// The simulated guest's disks, as far as a user sees them. The root disk (the first, when it holds an OS: a
// containerDisk, or a persistent disk made from an image) is a tree of files: a containerDisk root is fresh at every
// start (KubeVirt's ephemeral overlay), a persistent root keeps what was written. Every other disk is a block device
// /dev/vdX (device order, as virtio-blk enumerates) whose bytes a write at offset 0 replaces. cloud-init (from a
// NoCloud seed) writes its files once per instance-id, as cloud-init does.
import { parse } from 'yaml';
import type { GuestSpec, PersistentDiskContent } from '../types.ts';
import { generatedNetworkConfig } from '../../network/network-config.ts';
import { INSTANCE_ID_FILE, parseNetworkConfig, renderNetworkConfig } from './guest-network.ts';

/** A disk's bytes, as far as the sim keeps them: what was written from offset 0. */
export interface SimBlockDevice {
  capacityBytes: number;
  content: string;
}

/** A persistent disk on the sim host. */
export interface SimDisk extends SimBlockDevice {
  /** Made from an image: it is a root file system (files), not a raw device. */
  bootable: boolean;
  files: Map<string, string>;
}

export interface GuestStorage {
  /** The root disk's files (empty when the guest runs the busybox initramfs: nothing survives there). */
  root: Map<string, string>;
  /** /dev/vdb → its device. */
  devices: Map<string, SimBlockDevice>;
}

const CLOUD_INIT_LOG = '/var/log/cloud-init.log';

export const deviceName = (index: number): string =>
  `/dev/vd${String.fromCharCode('a'.charCodeAt(0) + index)}`;

export function newSimDisk(
  capacityBytes: number,
  content: PersistentDiskContent,
  source: SimDisk | undefined,
): SimDisk {
  if (content.type === 'disk') {
    if (!source)
      throw new Error(`persistent disk ${content.diskId} (the copy's source) is not on this host`);
    return {
      capacityBytes: Math.max(capacityBytes, source.capacityBytes),
      content: source.content,
      bootable: source.bootable,
      files: new Map(source.files),
    };
  }
  return { capacityBytes, content: '', bootable: content.type === 'image', files: new Map() };
}

/** What the guest's disks hold at a start: persistent disks as they were, ephemeral ones fresh, cloud-init applied. */
export function attachDisks(
  spec: GuestSpec,
  persistent: (id: string) => SimDisk | undefined,
): GuestStorage {
  const disks = spec.disks ?? [];
  const storage: GuestStorage = { root: new Map(), devices: new Map() };
  let hasRoot = false;
  disks.forEach((disk, index) => {
    const source = disk.source;
    const stored = source.type === 'persistentVolumeClaim' ? persistent(source.diskId) : undefined;
    if (source.type === 'persistentVolumeClaim' && !stored)
      throw new Error(`disk ${disk.name}: persistent disk ${source.diskId} is not on this host`);
    if (index === 0 && (source.type === 'containerDisk' || stored?.bootable)) {
      hasRoot = true;
      storage.root = stored ? stored.files : new Map();
      return;
    }
    const capacityBytes =
      source.type === 'emptyDisk' ? source.capacityBytes : (stored?.capacityBytes ?? 1024 ** 2);
    storage.devices.set(deviceName(index), stored ?? { capacityBytes, content: '' });
  });
  if (hasRoot)
    for (const disk of disks)
      if (disk.source.type === 'cloudInitNoCloud')
        runCloudInit(
          storage.root,
          disk.source,
          spec.nics.map((n) => n.mac.toLowerCase()),
        );
  return storage;
}

/**
 * cloud-init's first boot of an instance: write_files, the instance-id and the network-config; a known instance-id runs
 * nothing again. No network-config: cloud-init's fallback (DHCP on the first NIC, matched by its MAC). A config that
 * matches a MAC no NIC has renders nothing (cloud-init waits for the missing device, then gives up on the network).
 */
function runCloudInit(
  root: Map<string, string>,
  seed: { userData: string; metaData: string; networkData?: string },
  nicMacs: readonly string[],
): void {
  const instanceId = /^instance-id:\s*"?([^"\n]*)"?$/m.exec(seed.metaData)?.[1];
  if (!instanceId || root.get(INSTANCE_ID_FILE) === `${instanceId}\n`) return;
  root.set(INSTANCE_ID_FILE, `${instanceId}\n`);
  const first = nicMacs[0];
  const networkData =
    seed.networkData ??
    (first !== undefined ? generatedNetworkConfig([{ mac: first }]) : undefined);
  if (networkData !== undefined) {
    const missing = parseNetworkConfig(networkData)
      .map((i) => i.matchMac)
      .filter((mac): mac is string => mac !== undefined && !nicMacs.includes(mac));
    if (missing.length > 0) {
      const log = root.get(CLOUD_INIT_LOG) ?? '';
      root.set(
        CLOUD_INIT_LOG,
        `${log}WARNING: Not all expected physical devices present: {${missing.map((m) => `'${m}'`).join(', ')}}\n`,
      );
    } else {
      // A new instance's network-config is rendered (Debian: ENI + udev names); a known instance keeps what it has.
      for (const [path, content] of renderNetworkConfig(networkData)) root.set(path, content);
    }
  }
  for (const file of writeFiles(seed.userData)) root.set(file.path, file.content);
}

/** A write at offset 0 of a block device (`echo x > /dev/vdb`): the first bytes replaced, the rest kept. */
export function writeDevice(device: SimBlockDevice, data: string): void {
  device.content = (data + device.content.slice(data.length)).slice(0, device.capacityBytes);
}

/** cloud-config `write_files` entries with plain content (what the sim models of cloud-init). */
function writeFiles(userData: string): Array<{ path: string; content: string }> {
  if (!userData.startsWith('#cloud-config')) return [];
  let config: unknown;
  try {
    config = parse(userData);
  } catch {
    return [];
  }
  const entries = (config as { write_files?: unknown })?.write_files;
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: unknown) => {
    const e = entry as { path?: unknown; content?: unknown; encoding?: unknown };
    if (typeof e.path !== 'string' || (e.encoding !== undefined && e.encoding !== 'text/plain'))
      return [];
    return [{ path: e.path, content: typeof e.content === 'string' ? e.content : '' }];
  });
}
