// A guest's disks on this host: each GuestDisk made into a file in the guest's directory (an overlay over a store
// image, a NoCloud seed, a blank disk) and into the QEMU drive that attaches it. All of them end with the guest; a
// persistent disk (a claim's, see persistent-disks.ts) is attached where it lives and stays.
import { access, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { GuestDisk } from '../types.ts';
import { writeNoCloudSeed } from './genisoimage.ts';
import { createBlank, createOverlay } from './qemu-img.ts';
import type { QemuDrive } from './qemu.ts';

const DISK_FILE = /^disk-\d+\.(qcow2|iso)$/;

/** Creates the files of `disks` in `dir` (replacing any left from an earlier start) and returns their drives. */
export async function prepareGuestDisks(
  dir: string,
  disks: readonly GuestDisk[],
  persistentDisk: (id: string) => string,
): Promise<QemuDrive[]> {
  await removeGuestDisks(dir);
  const drives: QemuDrive[] = [];
  for (const [index, disk] of disks.entries()) {
    const id = `disk${index}`;
    const common = {
      id,
      ...(disk.serial ? { serial: disk.serial } : {}),
      ...(disk.bootOrder !== undefined ? { bootIndex: disk.bootOrder } : {}),
    };
    const source = disk.source;
    switch (source.type) {
      case 'containerDisk': {
        const file = join(dir, `disk-${index}.qcow2`);
        await createOverlay(source.file, source.format, file);
        drives.push({ ...common, file, format: 'qcow2' });
        break;
      }
      case 'emptyDisk': {
        const file = join(dir, `disk-${index}.qcow2`);
        await createBlank(file, source.capacityBytes);
        drives.push({ ...common, file, format: 'qcow2' });
        break;
      }
      case 'persistentVolumeClaim': {
        const file = persistentDisk(source.diskId);
        try {
          await access(file);
        } catch {
          throw new Error(
            `disk ${disk.name}: persistent disk ${source.diskId} is not on this host (it is made when its claim is bound)`,
          );
        }
        drives.push({ ...common, file, format: 'qcow2' });
        break;
      }
      case 'cloudInitNoCloud': {
        const file = join(dir, `disk-${index}.iso`);
        await writeNoCloudSeed(file, {
          'user-data': source.userData,
          'meta-data': source.metaData,
          ...(source.networkData !== undefined ? { 'network-config': source.networkData } : {}),
        });
        drives.push({ ...common, file, format: 'raw', readOnly: true });
        break;
      }
    }
  }
  return drives;
}

/** Removes the disk files of a guest that ended (containerDisk overlays and seeds are ephemeral, as in KubeVirt). */
export async function removeGuestDisks(dir: string): Promise<void> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return;
  }
  for (const file of files) if (DISK_FILE.test(file)) await rm(join(dir, file), { force: true });
}
