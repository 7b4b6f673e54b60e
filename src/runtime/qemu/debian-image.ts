// `harrow image build debian`: a bootable Debian 12 disk built from Debian's packages (mmdebstrap → mkfs.ext4 -d, no
// mount), booted with the host's cloud kernel through a busybox initramfs that only mounts the disk; named by its recipe
// and package versions so an identical build is reused.
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { openImageStore, type ImageStore, type ResolvedImage } from '../../images/store.ts';
import { candidateVersions } from './apt.ts';
import { cloudKernel } from './image.ts';
import { ext4FromDirectory } from './mkfs-ext4.ts';
import { mmdebstrap, type DebootstrapRecipe } from './mmdebstrap.ts';
import { buildRootInitramfs } from './root-initramfs.ts';

/** Bump when the customisation's meaning changes in a way the content key would not see. */
const BUILDER_VERSION = 'harrow-debian-4';

export const DEBIAN_IMAGE_NAME = 'debian-12';
/** The names KubeVirt manifests use for a Debian 12 containerDisk. */
export const DEBIAN_IMAGE_ALIASES = ['quay.io/containerdisks/debian:12', 'debian:12'];
const DISK_SIZE_BYTES = 2 * 1024 ** 3;
const ROOT_LABEL = 'harrow-root';

export const DEBIAN_RECIPE: DebootstrapRecipe = {
  suite: 'bookworm',
  variant: 'minbase',
  packages: [
    'systemd-sysv',
    'udev',
    // modprobe: udev and mount load modules (virtio_net, isofs for the seed, binfmt_misc) through it.
    'kmod',
    'ifupdown',
    'isc-dhcp-client',
    'iproute2',
    'iputils-ping',
    'qemu-guest-agent',
    'cloud-init',
    'openssh-server',
    'e2fsprogs',
  ],
  sources: [
    'deb http://deb.debian.org/debian bookworm main',
    'deb http://deb.debian.org/debian bookworm-updates main',
    'deb http://deb.debian.org/debian-security bookworm-security main',
  ],
};

/** Units a VM does not need and that slow its boot under TCG; masked (linked to /dev/null). */
const MASKED_UNITS = [
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
  'systemd-networkd-wait-online.service',
  'ifupdown-wait-online.service',
  // No VGA (-nodefaults): the only console is the serial port, whose getty systemd starts from console=ttyS0.
  'getty@tty1.service',
  // Early-boot work a VM does not use; each is a process (modprobe) or a mount on the one busy TCG vCPU before udev
  // announces the agent's port (on a copy of the cached image, under load 6-12: agent 65 s vs 69 s and 89 s vs 128 s).
  'modprobe@dm_mod.service',
  'modprobe@efi_pstore.service',
  'modprobe@fuse.service',
  'modprobe@loop.service',
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'dev-hugepages.mount',
  'proc-sys-fs-binfmt_misc.automount',
  'systemd-binfmt.service',
  'modprobe@configfs.service',
  'sys-kernel-config.mount',
];

/**
 * systemd generators that find nothing in a VM whose root is a whole virtio disk (no GPT, LUKS, dm-verity,
 * hibernation image, SysV scripts without units, rc.local); each is a process on the emulated CPU before any unit starts.
 */
const MASKED_GENERATORS = [
  'systemd-gpt-auto-generator',
  'systemd-cryptsetup-generator',
  'systemd-integritysetup-generator',
  'systemd-veritysetup-generator',
  'systemd-hibernate-resume-generator',
  'systemd-sysv-generator',
  'systemd-rc-local-generator',
  'systemd-system-update-generator',
  'systemd-debug-generator',
  'systemd-run-generator',
];

const AGENT_UNIT = '/etc/systemd/system/qemu-guest-agent.service';
const AGENT_LAUNCHER = '/usr/local/libexec/harrow-qemu-ga';

/** Files written over the debootstrapped root, by path (mode 0644). */
export const DEBIAN_FILES: Readonly<Record<string, string>> = {
  // The guest agent starts as soon as systemd does, on its virtio port's /dev node (the initramfs loaded virtio_console,
  // devtmpfs made the node), found by the port's name in sysfs: the stock unit waits for udev's symlink, which comes
  // after coldplug (and after the NICs' udev work) on the one emulated CPU. Ordered before nothing the guest needs.
  [AGENT_UNIT]: `[Unit]
Description=QEMU Guest Agent (on its virtio port from early boot)
DefaultDependencies=no
After=systemd-journald.socket systemd-remount-fs.service
Before=shutdown.target
Conflicts=shutdown.target

[Service]
ExecStart=/bin/sh ${AGENT_LAUNCHER}
Restart=always
RestartSec=1
`,
  [AGENT_LAUNCHER]: `# Runs qemu-ga on the virtio port named org.qemu.guest_agent.0, waiting for the port if it is not there yet.
while :; do
  for port in /sys/class/virtio-ports/*; do
    read -r name 2>/dev/null <"$port/name" || continue
    [ "$name" = org.qemu.guest_agent.0 ] && [ -c "/dev/\${port##*/}" ] && exec /usr/sbin/qemu-ga -m virtio-serial -p "/dev/\${port##*/}"
  done
  sleep 0.1
done
`,
  // Only the NoCloud seed Harrow attaches (or nothing): no probing of clouds that are not there.
  // C.UTF-8 needs no locale generation (the image has no locales package).
  '/etc/cloud/cloud.cfg.d/90-harrow.cfg': `datasource_list: [NoCloud, None]
ssh_genkeytypes: [ed25519, ecdsa]
locale: C.UTF-8
`,
  // cloud-init's Python stages start as soon as the root is writable and would take the one emulated CPU from udev,
  // which must announce the agent's port first; niced, they get what udev leaves and still finish before login.
  '/etc/systemd/system/cloud-init-local.service.d/harrow-nice.conf': `[Service]
Nice=19
`,
  '/etc/systemd/system/cloud-init.service.d/harrow-nice.conf': `[Service]
Nice=19
`,
  // Hardware QEMU's pc machine has and a VM does not use (the IDE controller, KVM inside TCG, PS/2 raw access,
  // fw_cfg): udev would load each on the emulated CPU while the agent's port waits.
  '/etc/modprobe.d/harrow-vm.conf': `# Harrow VM: no IDE disks, no nested KVM, no raw PS/2 or fw_cfg access.
blacklist ata_piix
blacklist ata_generic
blacklist pata_acpi
blacklist kvm
blacklist kvm_amd
blacklist kvm_intel
blacklist serio_raw
blacklist qemu_fw_cfg
blacklist floppy
blacklist pcspkr
blacklist i2c_piix4
blacklist psmouse
`,
  '/etc/fstab':
    '# The root file system is the whole of /dev/vda, mounted rw by the kernel (root=/dev/vda rw).\n',
  '/etc/hostname': 'debian\n',
};

/**
 * systemd gives up on a device after 90 s, and udevd kills a worker whose event takes over 180 s, after which systemd
 * never learns of that device. Under TCG on a loaded host a boot takes many minutes (cloud-init done at 713 s under
 * load 20 on 2 cores, the guest idle and its serial getty never started): either limit leaves the serial getty
 * or the agent's port waiting forever, so both are raised to 15 minutes.
 */
export const DEBIAN_KERNEL_APPEND =
  'root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet systemd.default_device_timeout_sec=900 udev.event_timeout=900';

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');

async function customize(root: string, modulesDir: string, release: string): Promise<void> {
  for (const [path, content] of Object.entries(DEBIAN_FILES)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  // Started at boot, not only when udev announces the port (the package's udev rule still asks for it, a no-op then).
  await mkdir(join(root, 'etc/systemd/system/sysinit.target.wants'), { recursive: true });
  await symlink(
    AGENT_UNIT,
    join(root, 'etc/systemd/system/sysinit.target.wants', basename(AGENT_UNIT)),
  );
  for (const unit of MASKED_UNITS) {
    const path = join(root, 'etc/systemd/system', unit);
    await rm(path, { force: true });
    await symlink('/dev/null', path);
  }
  await mkdir(join(root, 'etc/systemd/system-generators'), { recursive: true });
  for (const generator of MASKED_GENERATORS)
    await symlink('/dev/null', join(root, 'etc/systemd/system-generators', generator));
  // root logs in on the serial console without a password (the console is the platform's, as on a physical
  // console); sshd refuses empty passwords, so remote logins need a key from cloud-init.
  const shadow = await readFile(join(root, 'etc/shadow'), 'utf8');
  await writeFile(join(root, 'etc/shadow'), shadow.replace(/^root:[^:]*:/m, 'root::'));
  // Each guest gets its own host keys (cloud-init's ssh module), never the ones made while building.
  for (const file of await readdir(join(root, 'etc/ssh'))) {
    if (file.startsWith('ssh_host_')) await rm(join(root, 'etc/ssh', file), { force: true });
  }
  await writeFile(join(root, 'etc/machine-id'), '');
  // The host's kernel boots the guest; its modules (virtio_net, virtio_console, isofs for the seed) come along.
  await cp(modulesDir, join(root, 'usr/lib/modules', release), { recursive: true });
}

export interface BuildDebianOptions {
  store?: ImageStore;
  onProgress?: (message: string) => void;
}

/** Builds the Debian image into the store (or returns the identical one already there). */
export async function buildDebianImage(options: BuildDebianOptions = {}): Promise<ResolvedImage> {
  const store = options.store ?? openImageStore();
  const progress = options.onProgress ?? (() => {});
  const kernel = await cloudKernel();
  // The host's initramfs-tools one runs udev and scans devices: seconds of the emulated CPU before systemd starts.
  const initrd = await buildRootInitramfs(kernel);
  const versions = await candidateVersions(DEBIAN_RECIPE.packages);
  const packages = [...versions].map(([name, version]) => `${name}=${version}`);
  const contentKey = sha256(
    JSON.stringify({
      builder: BUILDER_VERSION,
      recipe: DEBIAN_RECIPE,
      files: DEBIAN_FILES,
      masked: MASKED_UNITS,
      generators: MASKED_GENERATORS,
      initrd: basename(initrd),
      append: DEBIAN_KERNEL_APPEND,
      packages,
      kernel: `${kernel.packageName}=${kernel.version}`,
    }),
  );
  const existing = await store.resolve(DEBIAN_IMAGE_NAME);
  if (existing?.contentKey === contentKey) {
    progress(`reusing ${existing.path} (${contentKey.slice(0, 16)})`);
    return existing;
  }
  await mkdir(store.dir, { recursive: true });
  const work = join(store.dir, `.build-debian-${randomBytes(4).toString('hex')}`);
  try {
    const root = join(work, 'root');
    await mkdir(root, { recursive: true, mode: 0o755 });
    progress(`mmdebstrap ${DEBIAN_RECIPE.suite} (${packages.join(', ')})`);
    await mmdebstrap(DEBIAN_RECIPE, root);
    await customize(root, kernel.modulesDir, kernel.release);
    const disk = join(work, 'disk.raw');
    progress(`mkfs.ext4 -d → ${disk}`);
    await ext4FromDirectory(root, disk, DISK_SIZE_BYTES, ROOT_LABEL);
    const image = await store.import(DEBIAN_IMAGE_NAME, disk, {
      aliases: DEBIAN_IMAGE_ALIASES,
      boot: {
        type: 'kernel',
        kernel: kernel.kernel,
        initrd,
        append: DEBIAN_KERNEL_APPEND,
      },
      source: 'build:debian',
      contentKey,
      packages,
      takeFile: true,
    });
    progress(`built ${image.path}`);
    return image;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
