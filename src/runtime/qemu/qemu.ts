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

export interface QemuLaunch {
  name: string;
  kernel: string;
  initrd: string;
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
    '-kernel',
    launch.kernel,
    '-initrd',
    launch.initrd,
    '-append',
    'console=ttyS0 quiet',
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

export const isQemuCommand = (cmdline: readonly string[]): boolean =>
  (cmdline[0] ?? '').endsWith(QEMU_BINARY);

/** Starts QEMU in `namespace`; it daemonises once the machine is set up, so this resolves when the guest process runs. */
export async function launchQemu(namespace: string, launch: QemuLaunch): Promise<void> {
  const [file, args] = inNamespace(namespace, QEMU_BINARY, qemuArgs(launch));
  await run(file, args, { timeoutMs: 60_000 });
}
