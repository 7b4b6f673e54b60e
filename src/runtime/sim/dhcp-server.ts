// The DHCP server of one simulated network (the dnsmasq role): leases bound to the client MAC, same MAC → same address;
// reservations (dnsmasq's dhcp-host MAC,IP) give a MAC its fixed address and keep it from every other MAC.
import type { Lease } from '../types.ts';
import { formatIpv4 } from '../../ip/ipv4.ts';

export interface DhcpPool {
  start: number;
  end: number;
  /** Never handed out even when inside the range: it is the bridge's own address. */
  gateway: number;
}

export interface DhcpBinding {
  ip: number;
  /** Infinity for an infinite lease. */
  leaseSeconds: number;
}

interface LeaseRecord {
  mac: string;
  ip: number;
  expiresAt: number;
  /** T1: when a client that is still online renews. */
  renewAt: number;
}

export class DhcpServer {
  private readonly byMac = new Map<string, LeaseRecord>();
  private readonly byIp = new Map<number, LeaseRecord>();
  /** Fixed addresses: address → the MAC it is reserved for, and back. */
  private readonly reservedIps = new Map<number, string>();
  private readonly reservedMacs = new Map<string, number>();
  /** Addresses below this one have been handed out at least once; allocation is O(1) until the range is used up. */
  private nextFresh: number;
  /** Addresses below nextFresh whose lease was given back (released, moved): free again, as in dnsmasq. */
  private readonly givenBack = new Set<number>();

  constructor(
    private pool: DhcpPool,
    private readonly leaseSeconds: number,
    private readonly clock: () => number,
    /** Whether the client holding this lease is online and could renew it (guest up, frames pass the spoof check). */
    private readonly clientRenews: (mac: string, ip: number) => boolean,
  ) {
    this.nextFresh = pool.start;
  }

  /** DISCOVER/REQUEST from `mac`: the same address as before when the MAC had one, else a free one; undefined when none is left. */
  bind(mac: string): DhcpBinding | undefined {
    const now = this.clock();
    let record = this.byMac.get(mac);
    const fixed = this.reservedMacs.get(mac);
    if (
      fixed !== undefined &&
      record &&
      record.ip !== fixed &&
      !this.leasedToOther(fixed, mac, now)
    ) {
      // The client asks for its old address; the server offers the one configured for its MAC.
      this.forget(record);
      record = undefined;
    }
    if (!record) {
      // As dnsmasq: the configured address unless another MAC holds a live lease on it, else one from the range.
      const ip =
        fixed !== undefined && !this.leasedToOther(fixed, mac, now) ? fixed : this.allocate(now);
      if (ip === undefined) return undefined;
      const stale = this.byIp.get(ip);
      if (stale) this.forget(stale);
      record = { mac, ip, expiresAt: 0, renewAt: 0 };
      this.byMac.set(mac, record);
      this.byIp.set(ip, record);
    }
    this.extend(record, now);
    return { ip: record.ip, leaseSeconds: this.leaseSeconds };
  }

  /**
   * Reserves `ip` for `mac` (the reservation moves from any other MAC, and `mac` gives up any other) and releases the
   * leases in its way: `ip` leased to another MAC, `mac`'s lease on another address (DHCPRELEASE on their behalf).
   */
  reserve(mac: string, ip: number): void {
    this.unreserve(mac);
    const previous = this.reservedIps.get(ip);
    if (previous !== undefined) this.reservedMacs.delete(previous);
    this.reservedIps.set(ip, mac);
    this.reservedMacs.set(mac, ip);
    const holder = this.byIp.get(ip);
    if (holder && holder.mac !== mac) this.forget(holder);
    const own = this.byMac.get(mac);
    if (own && own.ip !== ip) this.forget(own);
  }

  /** Drops `mac`'s reservation; a lease it has stays until it expires. */
  unreserve(mac: string): void {
    const ip = this.reservedMacs.get(mac);
    if (ip === undefined) return;
    this.reservedMacs.delete(mac);
    this.reservedIps.delete(ip);
  }

  /** DHCPRELEASE on behalf of `mac` (dnsmasq's dhcp_release): its lease, if it has one, is gone. */
  release(mac: string): void {
    const record = this.byMac.get(mac);
    if (record) this.forget(record);
  }

  /** The reservations, as dnsmasq's dhcp-hostsfile lists them. */
  reservations(): Array<{ mac: string; ip: string }> {
    return [...this.reservedIps].map(([ip, mac]) => ({ mac, ip: formatIpv4(ip) }));
  }

  /**
   * The live leases, as dnsmasq's lease file shows them (expired ones are gone from it); with `macs`, only theirs, looked
   * up by MAC (a guest's poll then costs its own leases, not the network's).
   */
  list(macs?: readonly string[]): Lease[] {
    const now = this.clock();
    const live: LeaseRecord[] = [];
    const records = macs
      ? [...new Set(macs)].flatMap((m) => this.byMac.get(m) ?? [])
      : this.byMac.values();
    for (const record of records) {
      this.renewIfOnline(record, now);
      if (record.expiresAt > now) live.push(record);
    }
    live.sort((a, b) => a.ip - b.ip);
    return live.map((r) => ({
      mac: r.mac,
      ip: formatIpv4(r.ip),
      expires: Number.isFinite(r.expiresAt) ? new Date(r.expiresAt).toISOString() : undefined,
    }));
  }

  /** A changed range keeps the leases that still fit (dnsmasq restarted on a new config). */
  reconfigure(pool: DhcpPool): void {
    this.pool = pool;
    for (const record of [...this.byMac.values()]) {
      if (!this.inPool(record.ip)) this.forget(record);
    }
    this.nextFresh = pool.start;
    this.givenBack.clear();
  }

  private leasedToOther(ip: number, mac: string, now: number): boolean {
    const record = this.byIp.get(ip);
    if (!record || record.mac === mac) return false;
    this.renewIfOnline(record, now);
    return record.expiresAt > now;
  }

  private inPool(ip: number): boolean {
    return ip >= this.pool.start && ip <= this.pool.end && ip !== this.pool.gateway;
  }

  private allocate(now: number): number | undefined {
    for (const ip of this.givenBack) {
      this.givenBack.delete(ip);
      if (this.inPool(ip) && !this.byIp.has(ip) && !this.reservedIps.has(ip)) return ip;
    }
    while (this.nextFresh <= this.pool.end) {
      const ip = this.nextFresh++;
      if (this.inPool(ip) && !this.byIp.has(ip) && !this.reservedIps.has(ip)) return ip;
    }
    // Every address was handed out once: only an expired lease frees one (its MAC then loses its claim).
    for (const record of this.byIp.values()) {
      this.renewIfOnline(record, now);
      if (record.expiresAt <= now && !this.reservedIps.has(record.ip)) {
        this.forget(record);
        return record.ip;
      }
    }
    return undefined;
  }

  private extend(record: LeaseRecord, now: number): void {
    record.expiresAt = now + this.leaseSeconds * 1000;
    record.renewAt = now + (this.leaseSeconds * 1000) / 2;
  }

  // A booted guest's DHCP client keeps running and renews at T1 while its frames get through; computed when looked at.
  private renewIfOnline(record: LeaseRecord, now: number): void {
    if (now >= record.renewAt && this.clientRenews(record.mac, record.ip)) this.extend(record, now);
  }

  private forget(record: LeaseRecord): void {
    this.byMac.delete(record.mac);
    this.byIp.delete(record.ip);
    if (record.ip < this.nextFresh) this.givenBack.add(record.ip);
  }
}
