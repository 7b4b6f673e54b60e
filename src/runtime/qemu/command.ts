// Runs host programs with execFile and argument arrays (never a shell); the one place that turns a failed run into an error.
import { execFile } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    cause?: unknown,
  ) {
    const detail = stderr.trim() || (cause instanceof Error ? cause.message : 'failed');
    super(`${file} ${args.join(' ')}: ${detail}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  /** Written to the program's standard input. */
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** The execFile options run() and runForBuffer() share: a timeout that kills outright (a hung tool must not wedge a VM operation), and cwd. */
function execOptions(options: RunOptions): {
  timeout: number;
  killSignal: 'SIGKILL';
  cwd: string | undefined;
} {
  return { timeout: options.timeoutMs ?? 60_000, killSignal: 'SIGKILL', cwd: options.cwd };
}

/** Runs `file args…` to completion; rejects with CommandError (exit code and stderr) when it fails. */
export function run(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        ...execOptions(options),
        env: { ...process.env, LC_ALL: 'C' },
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof error.code === 'number' ? error.code : null;
          const why = error.killed
            ? `${stderr}\n(killed after ${options.timeoutMs ?? 60_000} ms)`
            : stderr;
          reject(new CommandError(file, args, code, why, error));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Like run(), for programs whose standard output is binary. */
export function runForBuffer(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, ...execOptions(options) },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new CommandError(
              file,
              args,
              typeof error.code === 'number' ? error.code : null,
              stderr.toString('utf8'),
              error,
            ),
          );
          return;
        }
        resolve(stdout);
      },
    );
  });
}

/** True when `file` can be found and run (`file --version` style probe). */
export async function runs(file: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(file, args, { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}
