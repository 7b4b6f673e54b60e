// A guest's serial log on disk, bounded: two segments (`serial.log` and `serial.log.1`), the full one rolled over when
// the current one reaches half the bound, so the newest output (between half and all of the bound) is always kept.
import { appendFile, readFile, rename } from 'node:fs/promises';
import { CONSOLE_LOG_BYTES, type ConsoleLog } from '../console.ts';

async function readOrEmpty(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch {
    return Buffer.alloc(0);
  }
}

export class RotatingConsoleLog implements ConsoleLog {
  private written: number | undefined;
  /** Appends in arrival order: each write waits for the one before. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly limit = CONSOLE_LOG_BYTES,
  ) {}

  get previousPath(): string {
    return `${this.path}.1`;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const data = Buffer.from(chunk);
    this.tail = this.tail.then(() => this.write(data)).catch(() => undefined);
  }

  private async write(data: Buffer): Promise<void> {
    // A log found again after a restart of Harrow continues where it was.
    this.written ??= (await readOrEmpty(this.path)).length;
    const segment = Math.max(1, Math.floor(this.limit / 2));
    if (this.written > 0 && this.written + data.length > segment) {
      await rename(this.path, this.previousPath);
      this.written = 0;
    }
    // A single chunk larger than a segment keeps only its end.
    const kept = data.length > segment ? data.subarray(data.length - segment) : data;
    await appendFile(this.path, kept, { mode: 0o600 });
    this.written += kept.length;
  }

  /** Everything appended before the call is in the answer. */
  async read(): Promise<Buffer> {
    await this.tail;
    const all = Buffer.concat([await readOrEmpty(this.previousPath), await readOrEmpty(this.path)]);
    return all.length > this.limit ? all.subarray(all.length - this.limit) : all;
  }
}
