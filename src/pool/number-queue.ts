// A FIFO of numbers in a growable ring buffer: O(1) push/shift, memory proportional to what it holds.

const MIN_CAPACITY = 16;

export class NumberQueue {
  private buffer = new Float64Array(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(value: number): void {
    if (this.count === this.buffer.length) this.resize(this.buffer.length * 2);
    this.buffer[(this.head + this.count) & this.mask] = value;
    this.count++;
  }

  /** Removes and returns the oldest value; the caller checks `length` first. */
  shift(): number {
    const value = this.buffer[this.head]!;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    // Give memory back after a burst, with hysteresis so push/shift at the boundary stays O(1) amortised.
    if (this.buffer.length > MIN_CAPACITY && this.count <= this.buffer.length >>> 2)
      this.resize(this.buffer.length >>> 1);
    return value;
  }

  /** The oldest value; the caller checks `length` first. */
  peek(): number {
    return this.buffer[this.head]!;
  }

  /** The newest value; the caller checks `length` first. */
  peekLast(): number {
    return this.buffer[(this.head + this.count - 1) & this.mask]!;
  }

  /** Keeps only the values for which `keep` is true, in order. */
  retain(keep: (value: number) => boolean): void {
    let kept = 0;
    for (let k = 0; k < this.count; k++) {
      const value = this.buffer[(this.head + k) & this.mask]!;
      if (keep(value)) this.buffer[(this.head + kept++) & this.mask] = value;
    }
    this.count = kept;
  }

  private resize(capacity: number): void {
    const next = new Float64Array(capacity);
    for (let k = 0; k < this.count; k++) next[k] = this.buffer[(this.head + k) & this.mask]!;
    this.buffer = next;
    this.mask = capacity - 1;
    this.head = 0;
  }
}
