// Errors of the MAC pool; the apiserver maps them onto Status reasons (Conflict, Invalid, InsufficientStorage).

export type PoolErrorCode = 'in-use' | 'quarantined' | 'not-in-use' | 'outside' | 'exhausted';

/** An operation on one address (or an allocation) that the pool's state does not allow. */
export class PoolError extends Error {
  override readonly name: string = 'PoolError';
  constructor(
    readonly code: PoolErrorCode,
    message: string,
    readonly macAddress?: string,
    readonly quarantineUntil?: number,
  ) {
    super(message);
  }
}

/** No address is free; says how many are in use and quarantined, and when the earliest quarantine ends. */
export class PoolExhaustedError extends PoolError {
  override readonly name: string = 'PoolExhaustedError';
  constructor(
    readonly capacity: number,
    readonly inUse: number,
    readonly quarantined: number,
    readonly nextFreeAt: number | undefined,
    now: number,
  ) {
    const when =
      nextFreeAt === undefined
        ? 'none is quarantined, so none frees by waiting: delete VMs or add a range'
        : `the earliest quarantined one frees in ${Math.max(0, nextFreeAt - now)} ms (at ${describeTime(nextFreeAt)})`;
    super(
      'exhausted',
      capacity === 0
        ? 'MAC pool has no address to hand out: its ranges hold only multicast or excluded addresses'
        : `MAC pool exhausted: all ${capacity} addresses are taken (${inUse} in use, ${quarantined} quarantined); ${when}`,
    );
  }
}

/** A pool definition that cannot be used; `field` is the path inside the pool's spec, e.g. `ranges[1].start`. */
export class PoolConfigError extends Error {
  override readonly name: string = 'PoolConfigError';
  constructor(
    readonly field: string,
    /** The problem without the field, for a Status cause that carries the field separately. */
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/** An epoch-ms instant as ISO 8601, or the bare number when it is no representable date. */
export function describeTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
