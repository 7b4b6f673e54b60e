// Host processes through /proc: is a pid alive (zombies count as gone), what is its command line, its network
// namespace's device counters, stop it for sure.
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { NicCounters } from '../types.ts';

export async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain spaces or parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** A daemonised QEMU or dnsmasq is not our child, so once it exits it may linger as a zombie until its reaper runs. */
export async function isAlive(pid: number): Promise<boolean> {
  const state = await processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

export async function commandLine(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (!raw) return undefined;
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** The inode of the network namespace `pid` runs in (what `ip netns pids` compares), undefined once it is gone. */
export async function netnsInode(pid: number): Promise<number | undefined> {
  try {
    const match = /^net:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/ns/net`));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface HostProcess {
  pid: number;
  cmdline: string[];
  /** Inode of its network namespace. */
  netns?: number;
}

/** Every live process with a command line (kernel threads have none), read in one pass over /proc. */
export async function listProcesses(): Promise<HostProcess[]> {
  const pids = (await readdir('/proc'))
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid);
  const found = await Promise.all(
    pids.map(async (pid): Promise<HostProcess | undefined> => {
      const [cmdline, netns, alive] = await Promise.all([
        commandLine(pid),
        netnsInode(pid),
        isAlive(pid),
      ]);
      if (!cmdline || !alive) return undefined;
      return { pid, cmdline, ...(netns !== undefined ? { netns } : {}) };
    }),
  );
  return found.filter((p): p is HostProcess => p !== undefined);
}

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function terminate(pid: number, graceMs = 2_000): Promise<void> {
  if (!(await isAlive(pid))) return;
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, graceMs)) return;
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, 5_000))) throw new Error(`process ${pid} survived SIGKILL`);
}

/** Parses /proc/net/dev (each device's counters from its own side: rx is what the kernel got on it): two header lines, then `name: 8 receive fields 8 transmit fields` per device. */
export function parseNetDev(text: string): Map<string, NicCounters> {
  const devices = new Map<string, NicCounters>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    devices.set(line.slice(0, colon).trim(), {
      rxBytes: f[0]!,
      rxPackets: f[1]!,
      rxErrors: f[2]!,
      rxDropped: f[3]!,
      txBytes: f[8]!,
      txPackets: f[9]!,
      txErrors: f[10]!,
      txDropped: f[11]!,
    });
  }
  return devices;
}

/** The devices of the network namespace `pid` runs in; undefined once the process is gone. */
export async function netDevices(pid: number): Promise<Map<string, NicCounters> | undefined> {
  try {
    return parseNetDev(await readFile(`/proc/${pid}/net/dev`, 'utf8'));
  } catch {
    return undefined;
  }
}
