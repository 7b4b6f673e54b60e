// dnsmasq wrapper: one DHCP-only server per network, bound to the network's bridge; its lease file is the truth. The
// fixed addresses are dhcp-host options on its command line (Harrow keeps them in a hosts file of `MAC,IP` lines: dnsmasq
// drops root before it could re-read a file in the runtime's private state dir); dnsmasq-utils' dhcp_release gives a
// lease back on a client's behalf.
import { readFile, writeFile } from 'node:fs/promises';
import { run } from './command.ts';
import { inNamespace } from './ip.ts';

export interface DnsmasqConfig {
  bridge: string;
  gateway: string;
  rangeStart: string;
  rangeEnd: string;
  netmask: string;
  leaseFile: string;
  /** The fixed addresses (dhcp-host MAC,IP). */
  hosts?: readonly DhcpHost[];
  pidFile: string;
  logFile: string;
  leaseSeconds?: number;
}

export interface DhcpLease {
  mac: string;
  ip: string;
  /** ISO time; undefined for an infinite lease. */
  expires?: string;
  hostname?: string;
}

/**
 * DHCP only (`--port=0` turns DNS off), never reads /etc/dnsmasq.conf, answers only on the bridge; `--no-ping` skips
 * the probe that would delay every first lease by seconds.
 */
export function dnsmasqArgs(config: DnsmasqConfig): string[] {
  return [
    '--conf-file=/dev/null',
    '--port=0',
    `--interface=${config.bridge}`,
    '--bind-interfaces',
    '--except-interface=lo',
    `--dhcp-range=${config.rangeStart},${config.rangeEnd},${config.netmask},${config.leaseSeconds ?? 3600}`,
    `--dhcp-option=option:router,${config.gateway}`,
    `--dhcp-leasefile=${config.leaseFile}`,
    ...(config.hosts ?? []).map((h) => `--dhcp-host=${h.mac},${h.ip}`),
    '--dhcp-authoritative',
    '--no-ping',
    `--pid-file=${config.pidFile}`,
    `--log-facility=${config.logFile}`,
    '--log-dhcp',
  ];
}

export const isDnsmasqCommand = (cmdline: readonly string[]): boolean =>
  (cmdline[0] ?? '').endsWith('dnsmasq');

/** The `--pid-file=`, `--interface=` and `--dhcp-host=` options of a dnsmasq command line (as dnsmasqArgs writes them). */
export function dnsmasqOf(cmdline: readonly string[]): {
  pidFile?: string;
  bridge?: string;
  hosts?: DhcpHost[];
} {
  const value = (prefix: string): string | undefined =>
    cmdline.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
  const pidFile = value('--pid-file=');
  const bridge = value('--interface=');
  const hosts = parseHosts(
    cmdline
      .filter((arg) => arg.startsWith('--dhcp-host='))
      .map((arg) => arg.slice('--dhcp-host='.length))
      .join('\n'),
  );
  return {
    ...(pidFile ? { pidFile } : {}),
    ...(bridge ? { bridge } : {}),
    ...(hosts.length > 0 ? { hosts } : {}),
  };
}

/** A fixed address: dnsmasq's dhcp-host `MAC,IP`. */
export interface DhcpHost {
  mac: string;
  ip: string;
}

/** Parses a hosts file as formatHosts writes it (other lines are skipped). */
export function parseHosts(text: string): DhcpHost[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(','))
    .filter(
      (parts): parts is [string, string] =>
        parts.length === 2 && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(parts[0] ?? '') && !!parts[1],
    )
    .map(([mac, ip]) => ({ mac, ip }));
}

export const formatHosts = (hosts: readonly DhcpHost[]): string =>
  hosts.map((h) => `${h.mac},${h.ip}\n`).join('');

export async function readHosts(hostsFile: string): Promise<DhcpHost[]> {
  try {
    return parseHosts(await readFile(hostsFile, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function writeHosts(hostsFile: string, hosts: readonly DhcpHost[]): Promise<void> {
  await writeFile(hostsFile, formatHosts(hosts));
}

/**
 * Gives the lease of `ip` for `mac` back on the client's behalf (dnsmasq-utils' dhcp_release sends the DHCPRELEASE the
 * client would, from the bridge), as OpenStack Neutron does when a port's address moves; dnsmasq drops the lease.
 */
export async function releaseLease(
  namespace: string,
  bridge: string,
  ip: string,
  mac: string,
): Promise<void> {
  const [file, args] = inNamespace(namespace, 'dhcp_release', [bridge, ip, mac]);
  await run(file, args, { timeoutMs: 10_000 });
}

/** Parses a dnsmasq lease file: `<expiry epoch|0> <mac> <ip> <hostname|*> <client-id|*>` per line (IPv6 `duid` lines skipped). */
export function parseLeases(text: string): DhcpLease[] {
  const leases: DhcpLease[] = [];
  for (const line of text.split('\n')) {
    const [expiry, mac, ip, hostname] = line.trim().split(/\s+/);
    if (
      !expiry ||
      !mac ||
      !ip ||
      !/^\d+$/.test(expiry) ||
      !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac) ||
      ip.includes(':')
    )
      continue;
    const lease: DhcpLease = { mac: mac.toLowerCase(), ip };
    if (expiry !== '0') lease.expires = new Date(Number(expiry) * 1000).toISOString();
    if (hostname && hostname !== '*') lease.hostname = hostname;
    leases.push(lease);
  }
  return leases;
}

export async function readLeases(leaseFile: string): Promise<DhcpLease[]> {
  try {
    return parseLeases(await readFile(leaseFile, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Starts dnsmasq inside `namespace`; it daemonises, so this resolves once it runs (and has written its pid file). */
export async function startDnsmasq(namespace: string, config: DnsmasqConfig): Promise<void> {
  const [file, args] = inNamespace(namespace, 'dnsmasq', dnsmasqArgs(config));
  await run(file, args, { timeoutMs: 15_000 });
}
