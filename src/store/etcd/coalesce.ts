// Calls coalesced into batches, one batch in flight at a time: the calls that arrive while one is out queue up and go
// out together in the next. The etcd store batches its audited commits (one Txn, one fsync, the chain head moved once)
// and its gets (one read Txn) this way; a call alone still goes out at once.

/** One call's answer in a batch: its own value or its own error. */
export type Settled<O> = { value: O } | { error: unknown };

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class Coalescer<I, O> {
  private readonly queue: Array<Waiting<I, O>> = [];
  private running = false;

  /**
   * `run` answers a batch, one Settled per item in order (what it throws is every item's answer); `joins` says whether
   * `next` may join the batch taken so far (a batch always takes the oldest call).
   */
  constructor(
    private readonly run: (items: I[]) => Promise<Array<Settled<O>>>,
    private readonly joins: (batch: readonly I[], next: I) => boolean,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.take();
      try {
        const settled = await this.run(batch.map((w) => w.item));
        batch.forEach((w, i) => {
          const s = settled[i] as Settled<O>;
          if ('error' in s) w.reject(s.error);
          else w.resolve(s.value);
        });
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.running = false;
  }

  private take(): Array<Waiting<I, O>> {
    const items: I[] = [];
    for (const w of this.queue) {
      if (items.length > 0 && !this.joins(items, w.item)) break;
      items.push(w.item);
    }
    return this.queue.splice(0, items.length);
  }
}
