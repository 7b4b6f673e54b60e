// qemu-system-x86_64 wrapper: the guest's command line (TCG only), launching it daemonised inside the pod namespace.
import { run } from './command.ts';
import { inNamespace } from './ip.ts';

export const QEMU_BINARY = 'qemu-system-x86_64';

export interface QemuNic {
  /** Device id: the `name` QMP reports in query-rx-filter and NIC_RX_FILTER_CHANGED. */
  id: string;
  netdev: string;
  tap: string;
  mac: string;
}

export interface QemuDrive {
  /** Device id (drive ids are `drive-<id>`). */
  id: string;
  file: string;
  format: 'raw' | 'qcow2';
  readOnly?: boolean;
  serial?: string;
  /** SeaBIOS boot order (firmware boot). */
  bootIndex?: number;
}

export interface QemuLaunch {
  name: string;
  /** Direct kernel boot; absent: the firmware boots from the first bootable disk. */
  kernel?: string;
  initrd?: string;
  /** Kernel command line (default `console=ttyS0 quiet`, the busybox guest's). */
  append?: string;
  /** virtio-blk disks in device order (vda, vdb, …). */
  drives?: QemuDrive[];
  memoryMiB: number;
  cpus: number;
  /** ttyS0 as a chardev socket server (Harrow's console); or `serialLog`, a plain file (a bare boot). */
  serialSocket?: string;
  serialLog?: string;
  /** Start with the CPUs stopped (`-S`) until QMP `cont`. */
  paused?: boolean;
  qmpSocket: string;
  agentSocket: string;
  pidFile: string;
  nics: QemuNic[];
  /** TCG translation cache in MiB; QEMU's default (1 GiB for system emulation) dominates a small guest's RSS. */
  tbSizeMiB?: number;
}

/** The per-NIC ids: a stable function of the NIC's position, shared by the command line and the QMP view. */
export const nicIds = (index: number): { id: string; netdev: string } => ({
  id: `nic${index}`,
  netdev: `net${index}`,
});

/**
 * KVM is never used: on these hosts /dev/kvm exists but hangs. `romfile=` drops the iPXE option ROM (no network boot,
 * a faster boot). No user-mode networking: every NIC is a tap in the pod.
 */
export function qemuArgs(launch: QemuLaunch): string[] {
  const args = [
    '-name',
    `guest=${launch.name}`,
    '-accel',
    launch.tbSizeMiB ? `tcg,tb-size=${launch.tbSizeMiB}` : 'tcg',
    '-nographic',
    '-nodefaults',
    '-no-user-config',
    '-m',
    String(launch.memoryMiB),
    '-smp',
    String(launch.cpus),
    ...(launch.kernel
      ? [
          '-kernel',
          launch.kernel,
          ...(launch.initrd ? ['-initrd', launch.initrd] : []),
          '-append',
          launch.append ?? 'console=ttyS0 quiet',
        ]
      : []),
    ...serialArgs(launch),
    '-qmp',
    `unix:${launch.qmpSocket},server=on,wait=off`,
    '-chardev',
    `socket,path=${launch.agentSocket},server=on,wait=off,id=qga0`,
    '-device',
    'virtio-serial',
    '-device',
    'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
  ];
  for (const drive of launch.drives ?? []) {
    args.push(
      '-drive',
      `file=${drive.file},format=${drive.format},if=none,id=drive-${drive.id},cache=writeback${drive.readOnly ? ',readonly=on' : ''}`,
    );
    args.push(
      '-device',
      `virtio-blk-pci,drive=drive-${drive.id},id=${drive.id}${drive.serial ? `,serial=${drive.serial}` : ''}${drive.bootIndex !== undefined ? `,bootindex=${drive.bootIndex}` : ''}`,
    );
  }
  for (const nic of launch.nics) {
    args.push('-netdev', `tap,id=${nic.netdev},ifname=${nic.tap},script=no,downscript=no`);
    args.push(
      '-device',
      `virtio-net-pci,netdev=${nic.netdev},mac=${nic.mac},id=${nic.id},romfile=`,
    );
  }
  if (launch.paused) args.push('-S');
  args.push('-daemonize', '-pidfile', launch.pidFile);
  return args;
}

function serialArgs(launch: QemuLaunch): string[] {
  if (launch.serialSocket) {
    return [
      '-chardev',
      `socket,id=serial0,path=${launch.serialSocket},server=on,wait=off`,
      '-serial',
      'chardev:serial0',
    ];
  }
  return ['-serial', launch.serialLog ? `file:${launch.serialLog}` : 'null'];
}

/** The `-name guest=…` of a QEMU command line. */
export function guestNameOf(cmdline: readonly string[]): string | undefined {
  const at = cmdline.indexOf('-name');
  const value = at >= 0 ? cmdline[at + 1] : undefined;
  if (!value) return undefined;
  const guest = value.split(',').find((part) => part.startsWith('guest=') || !part.includes('='));
  return guest?.replace(/^guest=/, '');
}

/** The `-pidfile` of a QEMU command line. */
export function pidFileOf(cmdline: readonly string[]): string | undefined {
  const at = cmdline.indexOf('-pidfile');
  return at >= 0 ? cmdline[at + 1] : undefined;
}

export const isQemuCommand = (cmdline: readonly string[]): boolean =>
  (cmdline[0] ?? '').endsWith(QEMU_BINARY);

/** Starts QEMU in `namespace`; it daemonises once the machine is set up, so this resolves when the guest process runs. */
export async function launchQemu(namespace: string, launch: QemuLaunch): Promise<void> {
  const [file, args] = inNamespace(namespace, QEMU_BINARY, qemuArgs(launch));
  await run(file, args, { timeoutMs: 60_000 });
}
