// Persistent disks on this host (PersistentVolumeClaims): one standalone qcow2 per claim uid in the runtime's data dir,
// made blank, from a store image or as a copy of another; they outlive guests and go only when asked.
import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PersistentDiskSpec } from '../types.ts';
import { copyToQcow2, createBlank, diskInfo, resizeDisk } from './qemu-img.ts';

const DISK_ID = /^[a-z0-9]([-a-z0-9]{0,62})$/;
const SUFFIX = '.qcow2';

/** A disk id names a file: only a uid's characters. */
export function checkDiskId(id: string): string {
  if (typeof id !== 'string' || !DISK_ID.test(id))
    throw new Error(
      `persistent disk id ${JSON.stringify(id)}: must be lower-case letters, digits and '-'`,
    );
  return id;
}

export const persistentDiskPath = (dir: string, id: string): string =>
  join(dir, `${checkDiskId(id)}${SUFFIX}`);

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Makes the disk unless it exists; built under a temporary name, so a crash leaves no disk that looks made. */
export async function createPersistentDisk(
  dir: string,
  spec: PersistentDiskSpec,
): Promise<{ capacityBytes: number }> {
  const file = persistentDiskPath(dir, spec.id);
  if (!(await exists(file))) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const partial = join(dir, `.${spec.id}.${randomBytes(4).toString('hex')}.partial`);
    try {
      const content = spec.content;
      if (content.type === 'blank') await createBlank(partial, spec.capacityBytes);
      else {
        const source =
          content.type === 'image' ? content.file : persistentDiskPath(dir, content.diskId);
        if (content.type === 'disk' && !(await exists(source)))
          throw new Error(
            `persistent disk ${content.diskId} (the copy's source) is not on this host`,
          );
        await copyToQcow2(source, partial);
        if ((await diskInfo(partial)).virtualSizeBytes < spec.capacityBytes)
          await resizeDisk(partial, spec.capacityBytes);
      }
      await rename(partial, file);
    } finally {
      await rm(partial, { force: true });
    }
  }
  return { capacityBytes: (await diskInfo(file)).virtualSizeBytes };
}

export async function deletePersistentDisk(dir: string, id: string): Promise<void> {
  await rm(persistentDiskPath(dir, id), { force: true });
}

export async function listPersistentDisks(dir: string): Promise<string[]> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith(SUFFIX) && !f.startsWith('.'))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}
