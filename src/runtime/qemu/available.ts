// Can this host run the qemu runtime? Root, the Debian packages, a usable QEMU; the answer says why not.
import { runs } from './command.ts';
import { MissingPackageError, requirePackage } from './dpkg.ts';
import { QEMU_BINARY } from './qemu.ts';

/** Debian packages the qemu runtime needs on the host, with what each is for. */
export const REQUIRED_PACKAGES: ReadonlyArray<readonly [string, string]> = [
  ['qemu-system-x86', 'running guests'],
  ['linux-image-cloud-amd64', 'the guest kernel'],
  ['busybox-static', 'the guest userland'],
  ['qemu-guest-agent', 'the guest agent'],
  ['dnsmasq-base', 'DHCP on guest networks'],
  ['nftables', 'the MAC spoof check'],
  ['iproute2', 'namespaces, bridges, veths and taps'],
  ['cpio', 'building the guest initramfs'],
  ['qemu-utils', 'guest disks (qemu-img: overlays, blank and persistent disks)'],
  ['genisoimage', 'cloud-init NoCloud seed disks'],
];

export async function qemuAvailable(): Promise<{ ok: boolean; why?: string }> {
  if (process.platform !== 'linux')
    return { ok: false, why: `the qemu runtime needs Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0)
    return { ok: false, why: 'the qemu runtime needs root (network namespaces, bridges, taps)' };
  for (const [name, purpose] of REQUIRED_PACKAGES) {
    try {
      await requirePackage(name, purpose);
    } catch (error) {
      if (error instanceof MissingPackageError) return { ok: false, why: error.message };
      return {
        ok: false,
        why: `cannot query dpkg: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }
  if (!(await runs(QEMU_BINARY, ['--version'])))
    return { ok: false, why: `${QEMU_BINARY} does not run` };
  if (!(await runs('ip', ['netns', 'list'])))
    return { ok: false, why: 'ip netns does not work here (no network namespaces?)' };
  return { ok: true };
}
