// A guest's serial console as both runtimes serve it: every connection sees the output, one at a time types (as in
// KubeVirt, a new interactive connection replaces the one before), and a bounded log keeps the output for later.
import type { ConsoleConnection, ConsoleHandlers, ConsoleOptions } from './types.ts';

/** How much serial output each guest keeps (the newest bytes). */
export const CONSOLE_LOG_BYTES = 1 << 20;

/** Where a guest's serial output is kept, bounded. */
export interface ConsoleLog {
  append(chunk: Buffer): void;
  /** The kept output, oldest first (at most the log's bound). */
  read(): Promise<Buffer>;
}

/** The log of a guest whose output lives only as long as the process (the sim). */
export class MemoryConsoleLog implements ConsoleLog {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit = CONSOLE_LOG_BYTES) {}

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  async read(): Promise<Buffer> {
    return Buffer.concat(this.chunks);
  }
}

/** KubeVirt closes the older console connection when a new one arrives; the older one learns why. */
export const REPLACED_REASON = 'another console connection to this guest replaced this one';

interface Attached {
  handlers: ConsoleHandlers;
  readOnly: boolean;
  open: boolean;
}

/** The connections of one guest's serial port. `input` carries what the writer types to the guest. */
export class ConsoleHub {
  private readonly attached = new Set<Attached>();
  private writer: Attached | undefined;

  constructor(
    private readonly input: (data: Buffer) => void,
    readonly log: ConsoleLog,
  ) {}

  /** Serial output from the guest: logged, then given to every connection. */
  output(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.log.append(chunk);
    for (const a of [...this.attached]) {
      try {
        a.handlers.onData(chunk);
      } catch {
        // One viewer's failure is its own; the others still get the output.
      }
    }
  }

  get connections(): number {
    return this.attached.size;
  }

  open(handlers: ConsoleHandlers, options: ConsoleOptions = {}): ConsoleConnection {
    const entry: Attached = { handlers, readOnly: options.readOnly === true, open: true };
    if (!entry.readOnly) {
      const previous = this.writer;
      this.writer = entry;
      if (previous) this.end(previous, REPLACED_REASON);
    }
    this.attached.add(entry);
    return {
      readOnly: entry.readOnly,
      write: (data) => {
        if (!entry.open || entry.readOnly || this.writer !== entry) return;
        this.input(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
      },
      close: () => {
        if (entry.open) this.end(entry, 'closed by the client', false);
      },
    };
  }

  /** Ends every connection (the guest stopped, the runtime closes). */
  closeAll(reason: string): void {
    for (const a of [...this.attached]) this.end(a, reason);
  }

  private end(entry: Attached, reason: string, notify = true): void {
    entry.open = false;
    this.attached.delete(entry);
    if (this.writer === entry) this.writer = undefined;
    if (!notify) return;
    try {
      entry.handlers.onClose(reason);
    } catch {
      // The connection is gone either way.
    }
  }
}
