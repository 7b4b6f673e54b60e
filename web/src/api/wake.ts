// A pause that something else may cut short: the retries that wait for the server, or for a watch stream to come free.

/**
 * Resolves after `ms`, or earlier when `signal` aborts or whoever holds `waiters` calls the function this adds to it
 * (it removes itself when done).
 */
export function sleepOrWake(
  ms: number,
  signal: AbortSignal,
  waiters: Set<() => void> = new Set(),
): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      waiters.delete(done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    waiters.add(done);
    signal.addEventListener('abort', done);
  });
}
