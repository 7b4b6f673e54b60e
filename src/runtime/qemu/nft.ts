// nftables wrapper: the bridge CNI's macspoofchk — frames entering the bridge from a pod port must carry that pod's MAC.
import { CommandError, run } from './command.ts';
import { inNamespace } from './ip.ts';
import { isObject } from './json-stream.ts';

export const SPOOFCHK_TABLE = 'harrow_macspoofchk';

/**
 * One table per host namespace. `guarded` lists the checked ports, `allowed` the (port . source MAC) pairs they may
 * send; a guarded port sending any other source MAC is dropped before the bridge forwards or learns it.
 */
export function spoofchkTableRuleset(): string {
  return `table bridge ${SPOOFCHK_TABLE} {
  set guarded { type ifname; }
  set allowed { type ifname . ether_addr; }
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    iifname @guarded iifname . ether saddr != @allowed counter drop
  }
}
`;
}

const quote = (ifname: string): string => {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname))
    throw new Error(`interface name ${JSON.stringify(ifname)} cannot be used in nftables`);
  return `"${ifname}"`;
};
const checkMac = (mac: string): string => {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac))
    throw new Error(`MAC ${JSON.stringify(mac)} is not in canonical form`);
  return mac;
};

/** One transaction: drop whatever the port was allowed before, then allow exactly `mac`. */
export function guardPortCommands(port: string, mac: string, previous: readonly string[]): string {
  const lines = previous.map(
    (old) =>
      `delete element bridge ${SPOOFCHK_TABLE} allowed { ${quote(port)} . ${checkMac(old)} }`,
  );
  lines.push(`add element bridge ${SPOOFCHK_TABLE} guarded { ${quote(port)} }`);
  lines.push(`add element bridge ${SPOOFCHK_TABLE} allowed { ${quote(port)} . ${checkMac(mac)} }`);
  return `${lines.join('\n')}\n`;
}

export function unguardPortCommands(
  port: string,
  macs: readonly string[],
  guarded: boolean,
): string {
  const lines = macs.map(
    (mac) =>
      `delete element bridge ${SPOOFCHK_TABLE} allowed { ${quote(port)} . ${checkMac(mac)} }`,
  );
  if (guarded) lines.push(`delete element bridge ${SPOOFCHK_TABLE} guarded { ${quote(port)} }`);
  return `${lines.join('\n')}\n`;
}

export interface SpoofchkState {
  guarded: Set<string>;
  /** Port → the source MACs it may use. */
  allowed: Map<string, string[]>;
  /** Frames dropped so far (the rule's counter). */
  dropped: { packets: number; bytes: number };
}

/** Parses `nft -j list table bridge harrow_macspoofchk`. */
export function parseSpoofchkTable(json: string): SpoofchkState {
  const value: unknown = JSON.parse(json);
  const items =
    isObject(value) && Array.isArray(value.nftables) ? value.nftables.filter(isObject) : [];
  const guarded = new Set<string>();
  const allowed = new Map<string, string[]>();
  const dropped = { packets: 0, bytes: 0 };
  for (const item of items) {
    if (isObject(item.set) && Array.isArray(item.set.elem)) {
      for (const element of item.set.elem) {
        if (item.set.name === 'guarded' && typeof element === 'string') guarded.add(element);
        if (item.set.name === 'allowed' && isObject(element) && Array.isArray(element.concat)) {
          const [port, mac] = element.concat;
          if (typeof port === 'string' && typeof mac === 'string')
            allowed.set(port, [...(allowed.get(port) ?? []), mac.toLowerCase()]);
        }
      }
    }
    if (isObject(item.rule) && Array.isArray(item.rule.expr)) {
      for (const expr of item.rule.expr) {
        if (isObject(expr) && isObject(expr.counter)) {
          dropped.packets += Number(expr.counter.packets ?? 0);
          dropped.bytes += Number(expr.counter.bytes ?? 0);
        }
      }
    }
  }
  return { guarded, allowed, dropped };
}

async function nft(namespace: string, args: string[], input?: string): Promise<string> {
  const [file, argv] = inNamespace(namespace, 'nft', args);
  return (await run(file, argv, input === undefined ? {} : { input })).stdout;
}

export async function readSpoofchk(namespace: string): Promise<SpoofchkState | undefined> {
  try {
    return parseSpoofchkTable(
      await nft(namespace, ['-j', 'list', 'table', 'bridge', SPOOFCHK_TABLE]),
    );
  } catch (error) {
    if (error instanceof CommandError && /No such file|does not exist/i.test(error.stderr))
      return undefined;
    throw error;
  }
}

export async function ensureSpoofchkTable(namespace: string): Promise<void> {
  if (await readSpoofchk(namespace)) return;
  await nft(namespace, ['-f', '-'], spoofchkTableRuleset());
}

export async function guardPort(namespace: string, port: string, mac: string): Promise<void> {
  const state = await readSpoofchk(namespace);
  if (!state)
    throw new Error(`nftables table ${SPOOFCHK_TABLE} is missing in namespace ${namespace}`);
  const current = state.allowed.get(port) ?? [];
  const previous = current.filter((old) => old !== mac);
  if (state.guarded.has(port) && current.includes(mac) && previous.length === 0) return;
  await nft(namespace, ['-f', '-'], guardPortCommands(port, mac, previous));
}

export async function unguardPort(namespace: string, port: string): Promise<void> {
  const state = await readSpoofchk(namespace);
  if (!state || (!state.guarded.has(port) && !state.allowed.has(port))) return;
  await nft(
    namespace,
    ['-f', '-'],
    unguardPortCommands(port, state.allowed.get(port) ?? [], state.guarded.has(port)),
  );
}

export interface NftTable {
  family: string;
  name: string;
}

/** Parses `nft -j list tables`. */
export function parseTables(json: string): NftTable[] {
  const value: unknown = JSON.parse(json || '{}');
  const items =
    isObject(value) && Array.isArray(value.nftables) ? value.nftables.filter(isObject) : [];
  return items.flatMap((item) =>
    isObject(item.table) &&
    typeof item.table.family === 'string' &&
    typeof item.table.name === 'string'
      ? [{ family: item.table.family, name: item.table.name }]
      : [],
  );
}

/** The nftables tables of a network namespace (a namespace's tables go with it). */
export async function listTables(namespace: string): Promise<NftTable[]> {
  return parseTables(await nft(namespace, ['-j', 'list', 'tables']));
}
