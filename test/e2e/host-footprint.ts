// What one Harrow instance holds on this host — its network namespaces, the processes that name its data dir or guests
// or run inside its namespaces, their links and nftables tables — read with iproute2, nft and /proc (not with
// Harrow's own code), so a test can show that nothing is left behind.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { qemuInstanceId } from '../../src/runtime/choice.ts';
import { underlayPeerName } from '../../src/runtime/qemu/vxlan.ts';

/** What the host holds of one instance, read with iproute2, nft and /proc (not with Harrow's own code). */
export interface Footprint {
  namespaces: string[];
  /** pid and command of every process naming the data dir or the instance's guests, or inside its namespaces. */
  processes: string[];
  /** Links of its host namespace, and root-namespace links carrying the instance's id or a Harrow alias of it. */
  links: string[];
  nftTables: string[];
}

export const sh = (file: string, args: string[]): string =>
  execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function footprint(dataDir: string, id = qemuInstanceId(dataDir)): Footprint {
  const hostNs = `harrow-${id}`;
  const namespaces = sh('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => ns === hostNs || ns.startsWith(`hp-${id}.`))
    .sort();
  const inodes = new Set(namespaces.map((ns) => statSync(`/run/netns/${ns}`).ino));
  const processes: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string[];
    let netns: number | undefined;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (/\) Z /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      netns = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${entry}/ns/net`))?.[1]);
    } catch {
      continue;
    }
    if (
      cmdline.some((arg) => arg.includes(`${dataDir}/`) || arg.includes(`harrow.${id}.`)) ||
      (netns !== undefined && inodes.has(netns))
    )
      processes.push(`${entry} ${cmdline[0]?.split('/').pop()}`);
  }
  const linkNames = (ns?: string): string[] =>
    (
      JSON.parse(sh('ip', [...(ns ? ['-n', ns] : []), '-j', '-d', 'link', 'show'])) as Array<{
        ifname: string;
        ifalias?: string;
      }>
    )
      .filter((l) => l.ifname !== 'lo')
      .filter(
        (l) =>
          ns !== undefined ||
          l.ifname.includes(id) ||
          l.ifname === underlayPeerName(id) ||
          (l.ifalias ?? '').includes(id),
      )
      .map((l) => `${ns ?? 'root'}/${l.ifname}`);
  const hasHostNs = namespaces.includes(hostNs);
  const links = [...(hasHostNs ? linkNames(hostNs) : []), ...linkNames()].sort();
  const nftTables = hasHostNs
    ? (
        JSON.parse(sh('ip', ['netns', 'exec', hostNs, 'nft', '-j', 'list', 'tables'])) as {
          nftables: Array<{ table?: { family: string; name: string } }>;
        }
      ).nftables.flatMap((i) => (i.table ? [`${i.table.family} ${i.table.name}`] : []))
    : [];
  return { namespaces, processes: processes.sort(), links, nftTables };
}

export const NOTHING: Footprint = { namespaces: [], processes: [], links: [], nftTables: [] };
