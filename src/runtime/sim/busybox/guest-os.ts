// What the simulated guest's kernel offers its busybox applets: links, their addresses, DHCP, ICMP echo, reboot.
import type { ExecResult } from '../../types.ts';

export interface GuestIpv4 {
  address: string;
  prefix: number;
}

export interface GuestLink {
  /** ifindex: lo is 1, eth0 is 2, … */
  index: number;
  name: string;
  mac: string;
  up: boolean;
  ipv4?: GuestIpv4;
}

export type DhcpOutcome =
  { bound: true; address: string; server: string; leaseSeconds: number } | { bound: false };

export interface GuestOs {
  /** The guest's NICs in PCI order (eth0, eth1, …); lo is not among them. */
  links(): GuestLink[];
  setLinkAddress(name: string, mac: string): void;
  setLinkUp(name: string, up: boolean): void;
  /** One DHCP exchange from the link's current MAC; the link is deconfigured first, as udhcpc's script does. */
  runDhcp(name: string): DhcpOutcome;
  /** Sends one echo request with `dataBytes` of payload out of `linkName`; true when a reply comes back. */
  echo(linkName: string, target: string, dataBytes: number): boolean;
  reboot(): void;
  /** A file on the guest's root disk; undefined when there is none. */
  readFile(path: string): string | undefined;
  writeFile(path: string, content: string): void;
  /** The files on the root disk under a directory (`/etc/network/`), at any depth, sorted. */
  listFiles(dir: string): string[];
  /** False when there was no such file. */
  removeFile(path: string): boolean;
}

export type Applet = (args: string[], os: GuestOs) => ExecResult;

export const BUSYBOX_VERSION = '1.35.0';

export const result = (exitCode: number, stdout = '', stderr = ''): ExecResult => ({
  exitCode,
  stdout,
  stderr,
});
