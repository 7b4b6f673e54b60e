// Drives an interactive command through a real pseudo-terminal (util-linux `script`), as a person at a terminal would:
// type keys, wait for text on the screen, see the exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { HARROW_BIN } from './harness.ts';

export interface PtySession {
  /** Everything the terminal showed so far. */
  readonly screen: () => string;
  type(keys: string): void;
  /** Waits until the screen after `from` (a length of screen()) matches. */
  expect(
    pattern: RegExp,
    options?: { timeoutMs?: number; from?: number },
  ): Promise<RegExpMatchArray>;
  exited: Promise<number>;
  kill(): void;
}

const quote = (arg: string): string => `'${arg.replaceAll("'", `'\\''`)}'`;

/** `bin/harrow ARGS…` in a pseudo-terminal with the given environment. */
export function harrowInPty(args: string[], env: Record<string, string>): PtySession {
  const command = [HARROW_BIN, ...args].map(quote).join(' ');
  const childEnv = Object.fromEntries(
    Object.entries({ ...process.env, ...env, TERM: 'xterm' }).filter(
      ([key]) => key !== 'NODE_TEST_CONTEXT',
    ),
  ) as Record<string, string>;
  // -e: script exits with the command's code; -q: no "Script started" lines; the typescript goes nowhere.
  const child: ChildProcess = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    env: childEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onOutput = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
  return {
    screen: () => text,
    type(keys) {
      child.stdin!.write(keys);
    },
    expect(pattern, options = {}) {
      const timeoutMs = options.timeoutMs ?? 30_000;
      const from = options.from ?? 0;
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = text.slice(from).match(pattern);
          if (!match) return false;
          waiters.delete(probe);
          clearTimeout(timer);
          resolve(match);
          return true;
        };
        const probe = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(probe);
          reject(
            new Error(
              `terminal: no ${pattern} within ${timeoutMs} ms; the screen after offset ${from}:\n${text.slice(from).slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(probe);
        check();
      });
    },
    exited,
    kill() {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}
