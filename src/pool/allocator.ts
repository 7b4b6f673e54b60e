// MacPoolAllocator: hands out free MACs of a pool's ranges in O(1) amortised at any occupancy, with quarantine.

import { macToNumber, numberToMac } from '../mac/mac.ts';
import { AddressSpace, type MacRange } from './address-space.ts';
import { AddressStates, FREE, FREE_LISTED, IN_USE, MARKED, QUARANTINED } from './address-states.ts';
import { DeadlineHeap } from './deadline-heap.ts';
import { PoolConfigError, PoolError, PoolExhaustedError, describeTime } from './errors.ts';
import { NumberQueue } from './number-queue.ts';
import { ALWAYS_EXCLUDED } from './range-usage.ts';
import { AllocationOrder } from './permutation.ts';

export type { MacRange } from './address-space.ts';
export { PoolConfigError, PoolError, PoolExhaustedError } from './errors.ts';
export type { PoolErrorCode } from './errors.ts';

/** The range Harrow's default pool covers: locally administered, 2^24 addresses. */
export const DEFAULT_MAC_RANGE: Readonly<MacRange> = {
  start: '02:48:52:00:00:00',
  end: '02:48:52:ff:ff:ff',
};

export interface MacPoolOptions {
  ranges: readonly MacRange[];
  /** How long a released address stays unusable (stale ARP/DHCP entries elsewhere still point at it). */
  quarantineMs: number;
  /** Picks the scattered order of never-used addresses; give each pool its own (e.g. its uid). */
  seed?: string;
  /** Addresses inside the ranges that must never be handed out (e.g. a router's). */
  excluded?: readonly string[];
}

export type MacState = 'free' | 'in-use' | 'quarantined' | 'outside';

export interface MacStateInfo {
  state: MacState;
  quarantineUntil?: number;
}

export interface MacPoolStats {
  capacity: number;
  inUse: number;
  quarantined: number;
}

function checkTime(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${what} must be a finite number of milliseconds >= 0, got ${value}`);
}

/**
 * Never-used addresses come from a frontier walking a seeded order of the space once; released addresses
 * behind the frontier come back through a FIFO free list after their quarantine. The free list is used
 * first, so memory grows with the peak number of addresses taken, not with the size of the ranges: states
 * live in 1 KiB pages (one byte per address) created when first touched and dropped when all free again.
 * Every operation is O(1) amortised: the frontier passes each position once (skipping those reserved ahead
 * of it), and each quarantine or free-list entry is handled once.
 */
export class MacPoolAllocator {
  readonly capacity: number;
  private readonly space: AddressSpace;
  private readonly order: AllocationOrder;
  private readonly states = new AddressStates();
  private readonly quarantineEnd = new Map<number, number>(); // index → ms, for QUARANTINED indexes
  private frontier = 0; // positions of the order below it have been reached
  private readonly freeList = new NumberQueue();
  private staleInFreeList = 0; // entries whose address was taken off the list by reserve/restoreQuarantine
  // Quarantines ending in non-decreasing order (the usual case: one duration, a clock moving forward)...
  private readonly quarantineIndexes = new NumberQueue();
  private readonly quarantineEnds = new NumberQueue();
  // ...and those ending before the last queued one (restored state, a shortened duration, a clock step back).
  private readonly earlyQuarantines = new DeadlineHeap();
  private inUse = 0;
  private quarantined = 0;
  private quarantineDuration: number;

  constructor(options: MacPoolOptions) {
    if (!Number.isFinite(options.quarantineMs) || options.quarantineMs < 0) {
      throw new PoolConfigError(
        'quarantineMs',
        `must be a finite number >= 0, got ${options.quarantineMs}`,
      );
    }
    const excluded = (options.excluded ?? []).map((mac, i) => {
      try {
        return macToNumber(mac);
      } catch (error) {
        throw new PoolConfigError(
          `excluded[${i}]`,
          error instanceof Error ? error.message : String(error),
        );
      }
    });
    this.space = new AddressSpace(options.ranges, [...ALWAYS_EXCLUDED, ...excluded]);
    this.capacity = this.space.size;
    this.order = new AllocationOrder(this.capacity, options.seed ?? 'harrow');
    this.quarantineDuration = options.quarantineMs;
  }

  get quarantineMs(): number {
    return this.quarantineDuration;
  }

  /** Applies to releases from now on; running quarantines keep their end. */
  setQuarantineMs(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`quarantineMs must be a finite number >= 0, got ${ms}`);
    this.quarantineDuration = ms;
  }

  /** Hands out a free address and marks it in use. Throws PoolExhaustedError when none is free at `now`. */
  allocate(now: number): string {
    this.expire(now);
    const states = this.states;
    while (this.freeList.length > 0) {
      const index = this.freeList.shift();
      if (states.get(index) === FREE_LISTED) return this.take(index);
      this.staleInFreeList--;
    }
    while (this.frontier < this.capacity) {
      const index = this.order.forward(this.frontier++);
      if (states.get(index) === FREE) return this.take(index);
    }
    throw new PoolExhaustedError(
      this.capacity,
      this.inUse,
      this.quarantined,
      this.earliestQuarantineUntil(),
      now,
    );
  }

  /**
   * Marks a user-given address as in use. Throws PoolError 'in-use', or 'quarantined' with its end, when it is
   * taken; 'outside' when the pool cannot hand it out. With `now`, quarantines ended by then are over first.
   */
  reserve(mac: string, now?: number): void {
    const index = this.indexOrThrow(mac, 'reserve');
    if (now !== undefined) this.expire(now);
    this.takeOffFreeList(index);
    this.states.set(index, IN_USE);
    this.inUse++;
  }

  /** In use → quarantined until now + quarantineMs, which it returns. Throws PoolError 'not-in-use' otherwise. */
  release(mac: string, now: number): number {
    checkTime(now, 'now');
    const index = this.indexOrThrow(mac, 'release');
    const state = this.states.get(index);
    if (state !== IN_USE) {
      const detail =
        state === QUARANTINED
          ? `it is already quarantined until ${describeTime(this.quarantineEnd.get(index)!)}`
          : 'it is free';
      const canonical = numberToMac(this.space.macAt(index));
      throw new PoolError('not-in-use', `cannot release MAC ${canonical}: ${detail}`, canonical);
    }
    const until = now + this.quarantineDuration;
    this.inUse--;
    this.quarantine(index, until);
    return until;
  }

  /** Rebuilding from persisted state: a free address becomes quarantined until `untilMs`. */
  restoreQuarantine(mac: string, untilMs: number): void {
    checkTime(untilMs, 'untilMs');
    const index = this.indexOrThrow(mac, 'restore the quarantine of');
    this.takeOffFreeList(index);
    this.quarantine(index, untilMs);
  }

  /** Makes an address free at once, whatever its state: rolls back an uncommitted allocation, or ends a quarantine early. */
  free(mac: string): void {
    const index = this.indexOrThrow(mac, 'free');
    const state = this.states.get(index);
    if (state === IN_USE) {
      this.inUse--;
    } else if (state === QUARANTINED) {
      this.quarantined--; // its queue entry no longer matches and is skipped when it comes up
      this.quarantineEnd.delete(index);
    } else {
      return;
    }
    this.makeFree(index);
  }

  /** Whether the pool can hand this address out at all (inside a range, unicast, not excluded). */
  contains(mac: string): boolean {
    return this.space.indexOf(macToNumber(mac)) >= 0;
  }

  /** With `now`, quarantines ended by then are reported as free. */
  stateOf(mac: string, now?: number): MacStateInfo {
    const index = this.space.indexOf(macToNumber(mac));
    if (index < 0) return { state: 'outside' };
    if (now !== undefined) this.expire(now);
    const state = this.states.get(index);
    if (state === IN_USE) return { state: 'in-use' };
    if (state === QUARANTINED)
      return { state: 'quarantined', quarantineUntil: this.quarantineEnd.get(index)! };
    return { state: 'free' };
  }

  /** With `now`, quarantines ended by then are counted as free. */
  stats(now?: number): MacPoolStats {
    if (now !== undefined) this.expire(now);
    return { capacity: this.capacity, inUse: this.inUse, quarantined: this.quarantined };
  }

  /** Ends every quarantine that ends at or before `now`; returns how many addresses became free. O(1) amortised. */
  expire(now: number): number {
    checkTime(now, 'now');
    let freed = 0;
    const ends = this.quarantineEnds;
    while (ends.length > 0 && ends.peek() <= now) {
      if (this.endQuarantine(this.quarantineIndexes.shift(), ends.shift())) freed++;
    }
    const early = this.earlyQuarantines;
    while (early.length > 0 && early.peekDeadline() <= now) {
      const index = early.peekValue();
      const until = early.peekDeadline();
      early.pop();
      if (this.endQuarantine(index, until)) freed++;
    }
    return freed;
  }

  /** When the earliest running quarantine ends (ms), or undefined when none runs. */
  earliestQuarantineUntil(): number | undefined {
    // Entries whose address was freed or quarantined anew since are dropped for good.
    const ends = this.quarantineEnds;
    while (
      ends.length > 0 &&
      !this.isCurrentQuarantine(this.quarantineIndexes.peek(), ends.peek())
    ) {
      ends.shift();
      this.quarantineIndexes.shift();
    }
    const early = this.earlyQuarantines;
    while (early.length > 0 && !this.isCurrentQuarantine(early.peekValue(), early.peekDeadline()))
      early.pop();
    const queued = ends.length > 0 ? ends.peek() : Infinity;
    const heaped = early.length > 0 ? early.peekDeadline() : Infinity;
    const earliest = Math.min(queued, heaped);
    return earliest === Infinity ? undefined : earliest;
  }

  private take(index: number): string {
    this.states.set(index, IN_USE);
    this.inUse++;
    return numberToMac(this.space.macAt(index));
  }

  // Shared by reserve and restoreQuarantine: the address must be free; a free-list entry for it goes stale.
  private takeOffFreeList(index: number): void {
    const state = this.states.get(index);
    if (state === IN_USE || state === QUARANTINED) throw this.takenError(index, state);
    if (state === FREE_LISTED) this.staleInFreeList++;
  }

  private quarantine(index: number, until: number): void {
    this.states.set(index, QUARANTINED);
    this.quarantineEnd.set(index, until);
    this.quarantined++;
    if (this.quarantineEnds.length === 0 || until >= this.quarantineEnds.peekLast()) {
      this.quarantineEnds.push(until);
      this.quarantineIndexes.push(index);
    } else {
      this.earlyQuarantines.push(until, index);
    }
  }

  private isCurrentQuarantine(index: number, until: number): boolean {
    return this.quarantineEnd.get(index) === until && this.states.get(index) === QUARANTINED;
  }

  private endQuarantine(index: number, until: number): boolean {
    if (!this.isCurrentQuarantine(index, until)) return false;
    this.quarantineEnd.delete(index);
    this.quarantined--;
    this.makeFree(index);
    return true;
  }

  private makeFree(index: number): void {
    if (this.order.inverse(index) >= this.frontier) {
      this.states.set(index, FREE); // the frontier will reach it
      return;
    }
    this.states.set(index, FREE_LISTED);
    this.freeList.push(index);
    if (this.staleInFreeList > 64 && this.staleInFreeList * 2 > this.freeList.length)
      this.compactFreeList();
  }

  // Drops stale and duplicate entries (an address reserved off the list and freed again is listed twice).
  private compactFreeList(): void {
    const states = this.states;
    this.freeList.retain((index) => {
      if (states.get(index) !== FREE_LISTED) return false;
      states.set(index, MARKED);
      return true;
    });
    this.freeList.retain((index) => {
      states.set(index, FREE_LISTED);
      return true;
    });
    this.staleInFreeList = 0;
  }

  private indexOrThrow(mac: string, action: string): number {
    const value = macToNumber(mac);
    const index = this.space.indexOf(value);
    if (index < 0) {
      throw new PoolError(
        'outside',
        `cannot ${action} MAC ${numberToMac(value)}: the pool cannot hand it out (outside its ranges, multicast or excluded)`,
        numberToMac(value),
      );
    }
    return index;
  }

  private takenError(index: number, state: number): PoolError {
    const canonical = numberToMac(this.space.macAt(index));
    if (state === IN_USE)
      return new PoolError('in-use', `MAC ${canonical} is already in use`, canonical);
    const until = this.quarantineEnd.get(index)!;
    return new PoolError(
      'quarantined',
      `MAC ${canonical} is quarantined until ${describeTime(until)} after its release`,
      canonical,
      until,
    );
  }
}
