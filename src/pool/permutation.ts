// Seeded bijections of [0, size): the order in which a pool hands out never-used addresses.

// Spreading allocations over the range, in an order that depends on the pool's seed, keeps two clusters
// (or a pool re-created from scratch) from handing out the same first addresses, while staying deterministic.
// A 4-round Feistel network permutes [0, 2^k); values >= size are walked through again ("cycle walking"),
// which stays a bijection of [0, size) and takes fewer than 2 passes on average since 2^k < 2·size.

function mix32(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function hashSeed(seed: string): number {
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < seed.length; i++) hash = Math.imul(hash ^ seed.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export class Permutation {
  // The halves have `leftBits` and `rightBits` bits; each round swaps their roles, so masks alternate.
  private readonly leftMask: number;
  private readonly rightMask: number;
  private readonly rightScale: number; // 2^rightBits
  private readonly leftScale: number; // 2^leftBits
  private readonly key0: number;
  private readonly key1: number;
  private readonly key2: number;
  private readonly key3: number;

  constructor(
    readonly size: number,
    seed: string,
  ) {
    if (!Number.isSafeInteger(size) || size < 0 || size > 2 ** 48)
      throw new RangeError(`permutation size must be an integer in [0, 2^48], got ${size}`);
    let bits = 2;
    while (2 ** bits < size) bits++;
    const leftBits = Math.ceil(bits / 2);
    const rightBits = bits - leftBits;
    this.leftScale = 2 ** leftBits;
    this.rightScale = 2 ** rightBits;
    this.leftMask = this.leftScale - 1;
    this.rightMask = this.rightScale - 1;
    const base = hashSeed(seed);
    const key = (round: number): number => mix32(base + Math.imul(round + 1, 0x9e3779b9));
    this.key0 = key(0);
    this.key1 = key(1);
    this.key2 = key(2);
    this.key3 = key(3);
  }

  /** The element at `position` in the seeded order. */
  forward(position: number): number {
    let value = this.encrypt(position);
    while (value >= this.size) value = this.encrypt(value);
    return value;
  }

  /** The position of `value` in the seeded order: forward(inverse(v)) === v. */
  inverse(value: number): number {
    let position = this.decrypt(value);
    while (position >= this.size) position = this.decrypt(position);
    return position;
  }

  // (L, R) -> (R, L ^ F(R)): the new right half has the old left half's width.
  private encrypt(input: number): number {
    const a = Math.floor(input / this.rightScale); // leftBits wide
    const b = input - a * this.rightScale; // rightBits wide
    const c = a ^ (mix32(b ^ this.key0) & this.leftMask); // leftBits
    const d = b ^ (mix32(c ^ this.key1) & this.rightMask); // rightBits
    const e = c ^ (mix32(d ^ this.key2) & this.leftMask); // leftBits
    const f = d ^ (mix32(e ^ this.key3) & this.rightMask); // rightBits
    return e * this.rightScale + f;
  }

  private decrypt(input: number): number {
    const e = Math.floor(input / this.rightScale);
    const f = input - e * this.rightScale;
    const d = f ^ (mix32(e ^ this.key3) & this.rightMask);
    const c = e ^ (mix32(d ^ this.key2) & this.leftMask);
    const b = d ^ (mix32(c ^ this.key1) & this.rightMask);
    const a = c ^ (mix32(b ^ this.key0) & this.leftMask);
    return a * this.rightScale + b;
  }
}

/** Addresses per page: the frontier finishes a page before it moves to the next one. */
export const PAGE_SIZE = 1024;

/**
 * The order of a pool's never-used addresses: pages in a seeded order, and a seeded order inside each page.
 * Walking page by page keeps the state pages touched (and so memory) proportional to the addresses handed
 * out; the seeded page order is what keeps different pools apart. A last, partial page comes last.
 */
export class AllocationOrder {
  private readonly fullPages: number;
  private readonly pageOrder: Permutation;
  // Orders inside a page are small enough to tabulate: one array read per step instead of a Feistel pass.
  private readonly inPage: Uint16Array;
  private readonly inPageInverse: Uint16Array;
  private readonly tail: Uint16Array;
  private readonly tailInverse: Uint16Array;
  private lastSlot = -1; // the frontier asks for the same page 1024 times in a row
  private lastPage = 0;

  constructor(
    readonly size: number,
    seed: string,
  ) {
    this.fullPages = Math.floor(size / PAGE_SIZE);
    this.pageOrder = new Permutation(this.fullPages, `${seed}/pages`);
    [this.inPage, this.inPageInverse] = tabulate(new Permutation(PAGE_SIZE, `${seed}/page`));
    [this.tail, this.tailInverse] = tabulate(
      new Permutation(size - this.fullPages * PAGE_SIZE, `${seed}/tail`),
    );
  }

  /** The index handed out at `position` of the walk. */
  forward(position: number): number {
    const slot = Math.floor(position / PAGE_SIZE);
    const offset = position - slot * PAGE_SIZE;
    if (slot >= this.fullPages) return this.fullPages * PAGE_SIZE + this.tail[offset]!;
    if (slot !== this.lastSlot) {
      this.lastSlot = slot;
      this.lastPage = this.pageOrder.forward(slot);
    }
    return this.lastPage * PAGE_SIZE + this.inPage[offset]!;
  }

  /** The position at which `index` is reached: forward(inverse(i)) === i. */
  inverse(index: number): number {
    const page = Math.floor(index / PAGE_SIZE);
    const offset = index - page * PAGE_SIZE;
    if (page >= this.fullPages) return this.fullPages * PAGE_SIZE + this.tailInverse[offset]!;
    return this.pageOrder.inverse(page) * PAGE_SIZE + this.inPageInverse[offset]!;
  }
}

function tabulate(order: Permutation): [Uint16Array, Uint16Array] {
  const forward = new Uint16Array(order.size);
  const inverse = new Uint16Array(order.size);
  for (let position = 0; position < order.size; position++) {
    const value = order.forward(position);
    forward[position] = value;
    inverse[value] = position;
  }
  return [forward, inverse];
}
