// qemu-img wrapper: image inspection, copy-on-write overlays, blank disks and standalone copies (clones).
import { run } from './command.ts';

export type DiskFormat = 'raw' | 'qcow2';

export interface DiskInfo {
  format: string;
  virtualSizeBytes: number;
  actualSizeBytes: number;
  backingFile?: string;
}

interface QemuImgInfoJson {
  format?: string;
  'virtual-size'?: number;
  'actual-size'?: number;
  'backing-filename'?: string;
}

export async function diskInfo(file: string): Promise<DiskInfo> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', '-U', file]);
  const info = JSON.parse(stdout) as QemuImgInfoJson;
  return {
    format: info.format ?? 'raw',
    virtualSizeBytes: info['virtual-size'] ?? 0,
    actualSizeBytes: info['actual-size'] ?? 0,
    ...(info['backing-filename'] ? { backingFile: info['backing-filename'] } : {}),
  };
}

/** A qcow2 whose unwritten blocks read from `backing` (never written to): KubeVirt's containerDisk overlay. */
export async function createOverlay(
  backing: string,
  backingFormat: DiskFormat,
  target: string,
  sizeBytes?: number,
): Promise<void> {
  const args = ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', backingFormat, target];
  if (sizeBytes !== undefined) args.push(String(sizeBytes));
  await run('qemu-img', args);
}

/** A blank qcow2 of `sizeBytes` (emptyDisk, blank DataVolume). */
export async function createBlank(target: string, sizeBytes: number): Promise<void> {
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', target, String(sizeBytes)]);
}

/** A standalone qcow2 with `source`'s content (no backing file): a persistent disk from an image, or a clone's disk. */
export async function copyToQcow2(source: string, target: string): Promise<void> {
  await run('qemu-img', ['convert', '-q', '-O', 'qcow2', '-U', source, target], {
    timeoutMs: 600_000,
  });
}

/** Grows a disk's virtual size (never shrinks: the caller checks). */
export async function resizeDisk(file: string, sizeBytes: number): Promise<void> {
  await run('qemu-img', ['resize', '-q', file, String(sizeBytes)]);
}
