// A binary min-heap of (deadline, value) pairs: quarantines that end earlier than ones already queued (the pool), keys
// due at a time (the controllers' requeue and retry timers).

export class DeadlineHeap<V = number> {
  private deadlines: number[] = [];
  private values: V[] = [];

  get length(): number {
    return this.deadlines.length;
  }

  push(deadline: number, value: V): void {
    const deadlines = this.deadlines;
    const values = this.values;
    let k = deadlines.length;
    deadlines.push(deadline);
    values.push(value);
    while (k > 0) {
      const parent = (k - 1) >>> 1;
      if (deadlines[parent]! <= deadline) break;
      deadlines[k] = deadlines[parent]!;
      values[k] = values[parent]!;
      k = parent;
    }
    deadlines[k] = deadline;
    values[k] = value;
  }

  /** The earliest deadline; the caller checks `length` first. */
  peekDeadline(): number {
    return this.deadlines[0]!;
  }

  /** The value with the earliest deadline; the caller checks `length` first. */
  peekValue(): V {
    return this.values[0]!;
  }

  /** Removes the earliest pair; the caller checks `length` first. */
  pop(): void {
    const deadlines = this.deadlines;
    const values = this.values;
    const lastDeadline = deadlines.pop()!;
    const lastValue = values.pop()!;
    const size = deadlines.length;
    if (size === 0) return;
    let k = 0;
    for (;;) {
      let child = 2 * k + 1;
      if (child >= size) break;
      if (child + 1 < size && deadlines[child + 1]! < deadlines[child]!) child++;
      if (deadlines[child]! >= lastDeadline) break;
      deadlines[k] = deadlines[child]!;
      values[k] = values[child]!;
      k = child;
    }
    deadlines[k] = lastDeadline;
    values[k] = lastValue;
  }
}
