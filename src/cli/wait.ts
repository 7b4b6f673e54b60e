// Waiting for the cluster to reach a state: polls, shows a progress line on a terminal, fails with the last status on timeout.
import { ApiError, TransportError } from '../client/errors.ts';
import { type CliIO } from './context.ts';
import { CliError } from './errors.ts';

export type Check<T> = () => Promise<{ done: true; value: T } | { done: false; status: string }>;

export interface PollOptions {
  /** Shown as `waiting for LABEL: STATUS… 3s`. */
  label: string;
  timeoutMs: number;
  intervalMs?: number;
}

/** A one-line progress display rewritten in place; silent when stderr is not a terminal. */
export function progressLine(
  io: CliIO,
  label: string,
): { update(status: string): void; clear(): void } {
  const tty = io.stderr.isTTY === true;
  const started = Date.now();
  let status = '';
  let shown = false;
  const draw = (): void => {
    if (!tty) return;
    const secs = Math.floor((Date.now() - started) / 1000);
    io.stderr.write(`\r\x1b[Kwaiting for ${label}: ${status}… ${secs}s`);
    shown = true;
  };
  const timer = tty ? setInterval(draw, 1000) : undefined;
  timer?.unref();
  return {
    update(s: string) {
      if (s !== status) {
        status = s;
        draw();
      }
    },
    clear() {
      if (timer) clearInterval(timer);
      if (shown) io.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * Runs `check` until it reports done. An unreachable server (e.g. restarting) is a status, not a failure;
 * any other error ends the wait.
 */
export async function pollUntil<T>(io: CliIO, options: PollOptions, check: Check<T>): Promise<T> {
  const progress = progressLine(io, options.label);
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 500;
  let last: string;
  try {
    for (;;) {
      try {
        const r = await check();
        if (r.done) return r.value;
        last = r.status;
      } catch (e) {
        if (!(e instanceof TransportError) && !(e instanceof ApiError && e.code >= 500)) throw e;
        last = e instanceof TransportError ? 'server unreachable' : `server error ${e.code}`;
      }
      progress.update(last);
      if (Date.now() >= deadline) {
        throw new CliError(
          `timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for ${options.label} (last: ${last})`,
        );
      }
      await new Promise((r) =>
        setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))),
      );
    }
  } finally {
    progress.clear();
  }
}
