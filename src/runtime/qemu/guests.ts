// Guests on a qemu host, the launcher role: a QEMU (TCG) process in the pod's namespace, its NICs bridged to the pod's
// interfaces, its disks prepared; started paused, attached over QMP, then resumed.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { validateMac } from '../../mac/index.ts';
import type { GuestSpec } from '../types.ts';
import { bindBridge } from './binding-bridge.ts';
import { prepareGuestDisks, removeGuestDisks } from './guest-disks.ts';
import { GuestSession } from './guest-session.ts';
import { guestPathsOf, type QemuHost } from './host.ts';
import { namespaceExists } from './ip.ts';
import { checkObjectId, podNamespace, qemuGuestName, tapName } from './names.ts';
import { persistentDiskPath } from './persistent-disks.ts';
import { readPidFile, terminate } from './procfs.ts';
import { launchQemu, nicIds } from './qemu.ts';

/** Checks a guest's NICs against its pod: each names a pod interface of its network, once; normalises their MACs. */
function checkNics(
  spec: GuestSpec,
  interfaces: readonly { podInterfaceName: string; network: { id: string } }[],
  where: string,
): void {
  const used = new Set<string>();
  spec.nics.forEach((nic, index) => {
    const field = `nics[${index}]`;
    try {
      nic.mac = validateMac(nic.mac);
    } catch (error) {
      throw new Error(
        `${where}: ${field}.mac: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const iface = interfaces.find((i) => i.podInterfaceName === nic.podInterfaceName);
    if (!iface)
      throw new Error(
        `${where}: ${field}.podInterfaceName ${nic.podInterfaceName} does not exist in pod ${spec.podUid}`,
      );
    if (iface.network.id !== nic.networkId) {
      throw new Error(
        `${where}: ${field}.networkId ${nic.networkId} is not the network of pod interface ${nic.podInterfaceName} (${iface.network.id})`,
      );
    }
    if (used.has(nic.podInterfaceName))
      throw new Error(`${where}: ${field}.podInterfaceName ${nic.podInterfaceName} is used twice`);
    used.add(nic.podInterfaceName);
  });
}

export async function startGuest(host: QemuHost, input: GuestSpec): Promise<void> {
  const { guests, image } = host;
  const spec = structuredClone(input);
  checkObjectId('vmiUid', spec.vmiUid);
  checkObjectId('podUid', spec.podUid);
  const where = `guest ${spec.namespace}/${spec.name} (vmi ${spec.vmiUid})`;
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > 8)
    throw new Error(`${where}: cpus ${spec.cpus} must be an integer in 1..8`);
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 64 || spec.memoryMiB > 16_384) {
    throw new Error(`${where}: memoryMiB ${spec.memoryMiB} must be an integer in 64..16384`);
  }
  await host.lock.run(`guest/${spec.vmiUid}`, async () => {
    const existing = guests.get(spec.vmiUid);
    if (existing?.running) return;
    const pod = host.pods.get(spec.podUid);
    const podNs = podNamespace(host.instanceId, spec.podUid);
    if (!pod || !(await namespaceExists(podNs)))
      throw new Error(`${where}: pod ${spec.podUid} is not set up on this host`);
    checkNics(spec, pod.request.interfaces, where);
    const holder = [...guests.values()].find(
      (g) => g.running && g.spec.podUid === spec.podUid && g.spec.vmiUid !== spec.vmiUid,
    );
    if (holder)
      throw new Error(`${where}: pod ${spec.podUid} already runs guest ${holder.spec.vmiUid}`);

    const qemuNics = [];
    for (const [index, nic] of spec.nics.entries()) {
      const { tap } = await bindBridge(podNs, nic.podInterfaceName, tapName(index));
      qemuNics.push({ ...nicIds(index), tap, mac: nic.mac });
    }
    const paths = guestPathsOf(host, spec.vmiUid);
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    for (const stale of [paths.qmp, paths.agent, paths.serialSocket, paths.pidFile])
      await rm(stale, { force: true });
    await writeFile(paths.spec, JSON.stringify(spec, null, 2));
    const drives = await prepareGuestDisks(paths.dir, spec.disks ?? [], (id) =>
      persistentDiskPath(host.dirs.disks, id),
    );
    // With a boot image among its disks the guest boots that (kernel or firmware); else the runtime's own image.
    const boot =
      spec.boot ?? ({ type: 'kernel', kernel: image.kernel, initrd: image.initrd } as const);
    await launchQemu(podNs, {
      name: qemuGuestName(host.instanceId, spec.vmiUid),
      ...(boot.type === 'kernel'
        ? {
            kernel: boot.kernel,
            initrd: boot.initrd,
            ...('append' in boot && boot.append ? { append: boot.append } : {}),
          }
        : {}),
      drives,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      serialSocket: paths.serialSocket,
      paused: true,
      qmpSocket: paths.qmp,
      agentSocket: paths.agent,
      pidFile: paths.pidFile,
      nics: qemuNics,
      tbSizeMiB: host.tbSizeMiB,
    });
    const pid = await readPidFile(paths.pidFile);
    if (!pid) throw new Error(`${where}: QEMU started but wrote no pid file`);
    existing?.detach();
    const session = new GuestSession(spec, paths, pid, host.emit);
    guests.set(spec.vmiUid, session);
    try {
      await session.attach();
      await session.resume();
    } catch (error) {
      await terminate(pid, 1_000);
      session.markGone(
        'Failed',
        `QEMU did not answer on QMP: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw new Error(`${where}: ${session.reason}`, { cause: error });
    }
  });
}

export async function stopGuest(
  host: QemuHost,
  vmiUid: string,
  options?: { graceMs?: number },
): Promise<void> {
  await host.lock.run(`guest/${vmiUid}`, async () => {
    const session = host.guests.get(vmiUid);
    if (!session?.running) return;
    await session.stop(options?.graceMs ?? 10_000, 'stopped');
    await rm(session.paths.pidFile, { force: true });
    await removeGuestDisks(session.paths.dir);
  });
}

/** Drops a guest's session and its directory; the caller holds `guest/<uid>` or `pod/<uid>`. */
export async function forgetGuest(host: QemuHost, vmiUid: string): Promise<void> {
  host.guests.get(vmiUid)?.detach();
  host.guests.delete(vmiUid);
  await rm(guestPathsOf(host, vmiUid).dir, { recursive: true, force: true });
}
