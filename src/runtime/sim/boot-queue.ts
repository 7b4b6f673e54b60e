// One timer for every pending guest boot, so thousands of booting guests cost one setTimeout, not one each.
import { performance } from 'node:perf_hooks';

interface PendingBoot {
  due: number;
  run: () => void;
}

// All boots take the same delay, so they fall due in the order they were queued: a FIFO is an ordered queue.
export class BootQueue {
  private queue: (PendingBoot | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly delayMs: number) {}

  schedule(run: () => void): void {
    this.queue.push({ due: performance.now() + this.delayMs, run });
    if (!this.timer) this.arm();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.head = 0;
  }

  private arm(): void {
    const next = this.queue[this.head];
    if (!next) {
      this.queue = [];
      this.head = 0;
      return;
    }
    // Not unref'd: like a real QEMU child process, a booting guest keeps the process alive until close().
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.due - performance.now()));
  }

  private fire(): void {
    this.timer = undefined;
    // Timers may fire a fraction of a millisecond before performance.now() reaches the due time.
    const now = performance.now() + 1;
    try {
      for (
        let next = this.queue[this.head];
        next && next.due <= now;
        next = this.queue[this.head]
      ) {
        this.queue[this.head++] = undefined;
        next.run();
      }
    } finally {
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.arm();
    }
  }
}
