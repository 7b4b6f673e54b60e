// Keys due at a time (requeue-after and retry backoff): one timer for the earliest, the pool's deadline heap for the rest.
import { DeadlineHeap } from '../../pool/deadline-heap.ts';

/** The earliest due time is kept per key; a later schedule of a key already due sooner is dropped. */
export class DelayQueue {
  private heap = new DeadlineHeap<string>();
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly fire: (key: string) => void,
    private readonly now: () => number,
  ) {}

  /** Schedules `key` in `ms`; an earlier schedule of the same key wins. */
  add(key: string, ms: number): void {
    const at = this.now() + Math.max(0, ms);
    const current = this.due.get(key);
    if (current !== undefined && current <= at) return;
    this.due.set(key, at);
    this.heap.push(at, key);
    this.arm();
  }

  has(key: string): boolean {
    return this.due.has(key);
  }

  /** Fires what is due by now() at once, instead of when the armed timer runs (a test clock moved forward). */
  fireDue(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.run();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap = new DeadlineHeap<string>();
    this.due.clear();
  }

  private arm(): void {
    if (this.heap.length === 0) return;
    const at = this.heap.peekDeadline();
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.run(), Math.max(0, at - this.now()));
    this.timer.unref?.();
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    while (this.heap.length > 0 && this.heap.peekDeadline() <= now) {
      const at = this.heap.peekDeadline();
      const key = this.heap.peekValue();
      this.heap.pop();
      // Entries superseded by an earlier schedule of the same key are skipped.
      if (this.due.get(key) !== at) continue;
      this.due.delete(key);
      this.fire(key);
    }
    this.arm();
  }
}
