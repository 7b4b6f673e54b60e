// The initramfs a disk image boots through: busybox loads the virtio-blk driver, mounts root= and hands over to the
// disk's own init. It replaces the host's generic initramfs-tools one, whose udev and device scanning cost seconds
// of one emulated CPU under TCG; content-addressed in the guest cache like the busybox guest's.
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { filesOf, requirePackage } from './dpkg.ts';
import {
  defaultGuestCacheDir,
  imageHash,
  kernelModule,
  writeInitramfs,
  type CloudKernel,
  type ImageEntry,
} from './image.ts';

/**
 * Loaded in order (the cloud kernel builds them as modules; ext4 is built in): virtio-blk and what it needs, then
 * virtio_console, so the guest agent's port is a /dev node (devtmpfs) before systemd starts and the agent need not wait
 * for udev's coldplug, seconds of the one emulated CPU later (the image's agent unit opens the port by its sysfs name).
 */
export const INITRAMFS_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_legacy_dev',
  'virtio_pci_modern_dev',
  'virtio_pci',
  'virtio_blk',
  'virtio_console',
];
const MODULE_DIR = '/lib/modules/harrow-root';

/**
 * PID 1 of the initramfs. Reads root=/dev/…, rw/ro and init= from the kernel command line as initramfs-tools does;
 * waits for the disk (the driver probes asynchronously); on failure says why on the console and leaves a shell.
 */
export function rootInitScript(modules: readonly string[] = INITRAMFS_MODULES): string {
  return `#!/bin/busybox sh
B=/bin/busybox
$B mount -t devtmpfs devtmpfs /dev
$B mount -t proc proc /proc
for m in ${modules.join(' ')}; do
  $B insmod ${MODULE_DIR}/$m.ko || echo "harrow-initramfs: insmod $m failed"
done
root=/dev/vda mode=ro init=/sbin/init
for arg in $($B cat /proc/cmdline); do
  case "$arg" in
    root=/dev/*) root=\${arg#root=} ;;
    rw) mode=rw ;;
    ro) mode=ro ;;
    init=*) init=\${arg#init=} ;;
  esac
done
tries=0
while [ ! -b "$root" ]; do
  tries=$((tries + 1))
  [ "$tries" -gt 1200 ] && { echo "harrow-initramfs: $root did not appear"; exec $B sh; }
  $B usleep 50000
done
$B mount -t ext4 -o "$mode" "$root" /root || { echo "harrow-initramfs: cannot mount $root"; exec $B sh; }
$B umount /proc
$B mount --move /dev /root/dev
exec $B switch_root /root "$init"
`;
}

/** Builds (or reuses) the root-mounting initramfs for `kernel`; returns its path. */
export async function buildRootInitramfs(
  kernel: CloudKernel,
  cacheDir: string = defaultGuestCacheDir(),
): Promise<string> {
  await requirePackage('busybox-static', 'the initramfs that mounts a disk image');
  const busybox = (await filesOf('busybox-static')).find((file) => file.endsWith('/bin/busybox'));
  if (!busybox) throw new Error('package busybox-static has no bin/busybox');
  const kernelFiles = await filesOf(kernel.packageName);
  const entries: ImageEntry[] = [
    { path: '/bin/busybox', mode: 0o755, content: await readFile(busybox) },
    { path: '/init', mode: 0o755, content: Buffer.from(rootInitScript()) },
    // Mount points switch_root and the script need.
    ...['/dev', '/proc', '/root'].map((dir) => ({
      path: `${dir}/.keep`,
      mode: 0o644,
      content: Buffer.alloc(0),
    })),
  ];
  for (const module of INITRAMFS_MODULES)
    entries.push({
      path: `${MODULE_DIR}/${module}.ko`,
      mode: 0o644,
      content: await kernelModule(kernelFiles, module, kernel.packageName),
    });
  const initrd = join(cacheDir, `root-initrd-${imageHash(entries).slice(0, 16)}.cpio.gz`);
  try {
    await access(initrd);
  } catch {
    await mkdir(cacheDir, { recursive: true });
    await writeInitramfs(entries, initrd);
  }
  return initrd;
}
