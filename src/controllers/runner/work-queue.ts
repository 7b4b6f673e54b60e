// The work queue of one controller: each key at most once, and never worked on twice at the same time.

/** Deduplicating FIFO: a key is queued at most once; a key enqueued while it is being processed runs again after. */
export class WorkQueue {
  private queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();

  /** Whether the key was not waiting already (client-go counts only those as adds). */
  add(key: string): boolean {
    if (this.dirty.has(key)) return false;
    this.dirty.add(key);
    if (!this.processing.has(key)) this.queue.push(key);
    return true;
  }

  /** The next key to work on, now marked as processing; undefined when the queue is empty. */
  take(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++] as string;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.queue.push(key);
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  get active(): number {
    return this.processing.size;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  pending(): string[] {
    return [...this.queue.slice(this.head), ...this.processing];
  }
}
