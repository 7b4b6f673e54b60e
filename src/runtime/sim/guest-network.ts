// How the simulated Debian guest's own configuration decides its NICs' names, MACs and DHCP at every boot, as a real
// one does: udev renames (70-persistent-net.rules), systemd .link files ([Match] → [Link] MACAddress=/Name=), ifupdown
// (`auto`/`allow-hotplug` + `iface NAME inet dhcp`, `hwaddress ether MAC`), and cloud-init's NoCloud network-config,
// rendered once per instance-id into those same files (Debian's cloud-init uses the ENI renderer). Pure.
import { parse } from 'yaml';

/** A NIC as the kernel names it at boot (net.ifnames=0: eth0, eth1, … in device order) with its device MAC. */
export interface BootNic {
  kernelName: string;
  mac: string;
}

/** What the guest's configuration does with one NIC at boot. */
export interface NicBootPlan {
  name: string;
  mac: string;
  /** Brought up with DHCP by ifupdown (or by the image default when the guest configures no interface at all). */
  dhcp: boolean;
}

export const ENI_PATH = '/etc/network/interfaces';
export const ENI_DIR = '/etc/network/interfaces.d/';
export const CLOUD_INIT_ENI = '/etc/network/interfaces.d/50-cloud-init';
export const UDEV_NET_RULES = '/etc/udev/rules.d/70-persistent-net.rules';
/** Where cloud-init keeps the instance-id it last ran for: present once cloud-init has run on this root. */
export const INSTANCE_ID_FILE = '/var/lib/cloud/data/instance-id';
const LINK_DIR = '/etc/systemd/network/';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const normalize = (mac: string | undefined): string | undefined => {
  const m = mac?.trim().toLowerCase().replace(/^"|"$/g, '');
  return m && MAC_RE.test(m) ? m : undefined;
};

/** Files under a directory, in the lexical order systemd and run-parts read them. */
const filesUnder = (files: ReadonlyMap<string, string>, dir: string): string[] =>
  [...files.keys()].filter((p) => p.startsWith(dir) && !p.slice(dir.length).includes('/')).sort();

interface EniStanza {
  name: string;
  method: string;
  hwaddress?: string;
}

/** ifupdown's view: the `iface` stanzas and which interfaces come up at boot (`auto`, `allow-hotplug`). */
function readEni(files: ReadonlyMap<string, string>): { stanzas: EniStanza[]; auto: Set<string> } {
  const stanzas: EniStanza[] = [];
  const auto = new Set<string>();
  // Debian's ifupdown ships /etc/network/interfaces with `source /etc/network/interfaces.d/*`; an image without the
  // file reads as that default.
  const main = files.get(ENI_PATH) ?? `source ${ENI_DIR}*\n`;
  const read = (text: string, depth: number): void => {
    let current: EniStanza | undefined;
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*$/, '').trim();
      const [word, ...rest] = line.split(/\s+/);
      if (!word) continue;
      if (word === 'auto' || word.startsWith('allow-')) {
        for (const n of rest) auto.add(n);
        current = undefined;
      } else if (word === 'iface') {
        current = { name: rest[0] ?? '', method: rest[2] ?? 'manual' };
        stanzas.push(current);
      } else if ((word === 'source' || word === 'source-directory') && depth < 4) {
        current = undefined;
        const target = rest[0] ?? '';
        const dir = word === 'source-directory' ? `${target.replace(/\/$/, '')}/` : undefined;
        const paths = dir
          ? filesUnder(files, dir)
          : target.endsWith('/*')
            ? filesUnder(files, target.slice(0, -1))
            : [target];
        for (const p of paths) {
          const content = files.get(p);
          if (content !== undefined) read(content, depth + 1);
        }
      } else if (word === 'hwaddress' && current) {
        current.hwaddress = normalize(rest[0] === 'ether' ? rest[1] : rest[0]);
      } else if (word === 'mapping') {
        current = undefined;
      }
    }
  };
  read(main, 0);
  return { stanzas, auto };
}

/** `SUBSYSTEM=="net", …, ATTR{address}=="MAC", …, NAME="x"` rules: the name a MAC gets. */
function udevNames(files: ReadonlyMap<string, string>): Map<string, string> {
  const names = new Map<string, string>();
  for (const line of (files.get(UDEV_NET_RULES) ?? '').split('\n')) {
    const mac = normalize(/ATTR\{address\}=="([^"]*)"/.exec(line)?.[1]);
    const name = /NAME="([^"]*)"/.exec(line)?.[1];
    if (mac && name && !line.trim().startsWith('#')) names.set(mac, name);
  }
  return names;
}

interface LinkFile {
  path: string;
  match: Map<string, string>;
  link: Map<string, string>;
}

function readLinkFiles(files: ReadonlyMap<string, string>): LinkFile[] {
  return filesUnder(files, LINK_DIR)
    .filter((p) => p.endsWith('.link'))
    .map((path) => {
      const parsed: LinkFile = { path, match: new Map(), link: new Map() };
      let section: Map<string, string> | undefined;
      for (const raw of (files.get(path) ?? '').split('\n')) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
        if (line.startsWith('[')) {
          section = line === '[Match]' ? parsed.match : line === '[Link]' ? parsed.link : undefined;
          continue;
        }
        const eq = line.indexOf('=');
        if (section && eq > 0) section.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
      }
      return parsed;
    });
}

const globMatches = (patterns: string, name: string): boolean =>
  patterns
    .split(/\s+/)
    .some((p) =>
      new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(name),
    );

/** systemd-udevd applies the first .link file (lexical order) whose [Match] fits the device. */
function linkFileFor(links: LinkFile[], nic: BootNic): LinkFile | undefined {
  return links.find((l) => {
    for (const [key, value] of l.match) {
      if (key === 'MACAddress' || key === 'PermanentMACAddress') {
        if (!value.split(/\s+/).some((m) => normalize(m) === nic.mac)) return false;
      } else if (key === 'OriginalName') {
        if (!globMatches(value, nic.kernelName)) return false;
      }
    }
    return true;
  });
}

/**
 * At boot: udev names each NIC (a rule for its MAC, else a .link Name=, else the kernel's), a .link file may set its
 * MAC, then ifupdown brings up what it is told to, setting `hwaddress` first. A guest with no `iface` stanza for any of
 * its NICs on which cloud-init never ran is the image's plain default: every NIC gets DHCP (as the busybox guest's init
 * does); once cloud-init ran, its rendering is the network configuration, and a NIC it configured none for has none.
 */
export function bootNetworkPlan(
  files: ReadonlyMap<string, string>,
  nics: BootNic[],
): NicBootPlan[] {
  const rules = udevNames(files);
  const links = readLinkFiles(files);
  const eni = readEni(files);
  const configured = eni.stanzas.some((s) => s.name !== 'lo') || files.has(INSTANCE_ID_FILE);
  return nics.map((nic) => {
    const link = linkFileFor(links, nic);
    let name = rules.get(nic.mac) ?? link?.link.get('Name') ?? nic.kernelName;
    let mac = normalize(link?.link.get('MACAddress')) ?? nic.mac;
    if (!configured) return { name, mac, dhcp: true };
    const stanza = eni.stanzas.find((s) => s.name === name);
    const up = stanza !== undefined && eni.auto.has(name);
    if (up && stanza.hwaddress) mac = stanza.hwaddress;
    name ||= nic.kernelName;
    return { name, mac, dhcp: up && stanza.method === 'dhcp' };
  });
}

/** One physical interface of a network-config, after cloud-init's v1/v2 parsing. */
export interface NetworkConfigInterface {
  /** The name it gets (v1 `name`, v2 `set-name` or its id). */
  name: string;
  /** The MAC it is matched by (v1 `mac_address`, v2 `match.macaddress`). */
  matchMac?: string;
  /** The MAC it is given (v2 `macaddress`). */
  setMac?: string;
  dhcp: boolean;
}

/** The physical interfaces of a NoCloud network-config (v1 or v2, with or without a top-level `network:`). */
export function parseNetworkConfig(text: string): NetworkConfigInterface[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return [];
  }
  const root = (doc as { network?: unknown } | null)?.network ?? doc;
  const config = root as { version?: unknown; config?: unknown; ethernets?: unknown } | null;
  if (!config) return [];
  if (config.version === 1 && Array.isArray(config.config)) {
    return config.config.flatMap((entry: unknown) => {
      const e = entry as {
        type?: unknown;
        name?: unknown;
        mac_address?: unknown;
        subnets?: unknown;
      };
      if (e.type !== 'physical' || typeof e.name !== 'string') return [];
      const subnets = Array.isArray(e.subnets) ? (e.subnets as Array<{ type?: unknown }>) : [];
      const matchMac = normalize(typeof e.mac_address === 'string' ? e.mac_address : undefined);
      return [
        {
          name: e.name,
          ...(matchMac ? { matchMac } : {}),
          dhcp: subnets.some((s) => s.type === 'dhcp' || s.type === 'dhcp4'),
        },
      ];
    });
  }
  if (config.version === 2 && config.ethernets && typeof config.ethernets === 'object') {
    return Object.entries(config.ethernets as Record<string, unknown>).map(([id, value]) => {
      const e = (value ?? {}) as {
        match?: { macaddress?: unknown };
        'set-name'?: unknown;
        macaddress?: unknown;
        dhcp4?: unknown;
      };
      const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
      const matchMac = normalize(str(e.match?.macaddress));
      const setMac = normalize(str(e.macaddress));
      return {
        name: str(e['set-name']) ?? id,
        ...(matchMac ? { matchMac } : {}),
        ...(setMac ? { setMac } : {}),
        dhcp: e.dhcp4 === true || e.dhcp4 === 'true' || e.dhcp4 === 'yes',
      };
    });
  }
  return [];
}

/** cloud-init's ENI renderer: the files a new instance's network-config becomes (names by MAC go to a udev rule). */
export function renderNetworkConfig(text: string): Map<string, string> {
  const interfaces = parseNetworkConfig(text);
  const eni = interfaces
    .map(
      (i) =>
        `auto ${i.name}\niface ${i.name} inet ${i.dhcp ? 'dhcp' : 'manual'}\n` +
        (i.setMac ? `    hwaddress ether ${i.setMac}\n` : ''),
    )
    .join('\n');
  const rules = interfaces
    .filter((i) => i.matchMac)
    .map(
      (i) =>
        `SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="${i.matchMac}", NAME="${i.name}"\n`,
    )
    .join('');
  const files = new Map<string, string>();
  files.set(
    CLOUD_INIT_ENI,
    `# This file is generated from information provided by the datasource.\nauto lo\niface lo inet loopback\n\n${eni}`,
  );
  files.set(UDEV_NET_RULES, rules);
  return files;
}
