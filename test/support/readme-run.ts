// Runs the README's steps (test/support/readme.ts) with bash in one directory, in order, keeping what the reader's shell
// would keep between commands (the `export`s, captured values) and the background processes until stop(). Each
// runStep throws (an AssertionError naming the command, its exit code and output) when the step does not do what the
// README says. Used by test/e2e/readme.test.ts; test/unit/readme.test.ts shows it failing.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { compareOutput, shows, terminalDialogue, type Step } from './readme.ts';

/** The first truthy value of `fn` (its errors count as "not yet"); on timeout an Error with `message` and the last. */
async function waitFor<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs: number; intervalMs: number; message: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() >= deadline)
      throw new Error(
        `${options.message}: timed out after ${options.timeoutMs}ms${last === undefined ? '' : `; last: ${String(last)}`}`,
      );
    await new Promise((r) => setTimeout(r, options.intervalMs));
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** How long a command, a retry or a background's wait may take. */
export interface Timeouts {
  commandTimeoutMs?: number;
  retryTimeoutMs?: number;
  backgroundTimeoutMs?: number;
}

export interface ReadmeRunnerOptions extends Timeouts {
  /** The reader's working directory. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** MACs the README's commands give (never normalised in output). */
  given?: ReadonlySet<string>;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const shown = (r: Run): string =>
  `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

export class ReadmeRunner {
  /** Lines run before every command: the README's `export`s and the captured values so far. */
  private readonly prelude: string[] = [];
  private readonly background: ChildProcess[] = [];
  private timeouts: Timeouts;

  constructor(private readonly options: ReadmeRunnerOptions) {
    this.timeouts = options;
  }

  private spawnBash(script: string, terminal = false): ChildProcess {
    const bash = ['bash', '-c', `set -o pipefail\n${this.prelude.join('\n')}\n${script}`];
    // A terminal: util-linux `script` runs it on a pseudo-terminal (-e: its exit code; -q and /dev/null: no transcript).
    const [file, args] = terminal
      ? ['script', ['-q', '-e', '-c', bash.map(quote).join(' '), '/dev/null']]
      : [bash[0]!, bash.slice(1)];
    return spawn(file, args, {
      cwd: this.options.cwd,
      env: terminal ? { ...this.options.env, TERM: 'xterm' } : this.options.env,
      stdio: [terminal ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
  }

  /** Runs a `terminal` step: types its dialogue's keys, waits for each answer, then for exit 0. */
  private async runInTerminal(step: Step): Promise<void> {
    const timeoutMs = this.timeouts.commandTimeoutMs ?? 180_000;
    const child = this.spawnBash(step.run, true);
    let screen = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (screen += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (screen += d));
    const exited = new Promise<number>((resolve) =>
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
    );
    let code: number | undefined;
    void exited.then((c) => (code = c));
    try {
      for (const turn of terminalDialogue(step.until!, step.line)) {
        const from = screen.length;
        if (turn.keys !== '') child.stdin!.write(turn.keys);
        if (turn.until === undefined) continue;
        await waitFor(
          () => {
            if (code !== undefined) throw new Error(`exited ${code}`);
            return shows(screen.slice(from), turn.until!);
          },
          { timeoutMs, intervalMs: 100, message: `${step.run}: waiting for "${turn.until}"` },
        );
      }
      await waitFor(() => code !== undefined, {
        timeoutMs,
        intervalMs: 100,
        message: `${step.run}: waiting for it to exit`,
      });
      assert.equal(
        code,
        0,
        `README line ${step.line}: ${step.run} exit ${code}\n--- terminal ---\n${screen}`,
      );
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      throw new Error(
        `README line ${step.line}: ${(e as Error).message}\n--- terminal ---\n${screen}`,
        { cause: e },
      );
    } finally {
      try {
        if (code === undefined) process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private bash(script: string): Promise<Run> {
    const timeoutMs = this.timeouts.commandTimeoutMs ?? 180_000;
    return new Promise((resolve, reject) => {
      const child = this.spawnBash(script);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        process.kill(-child.pid!, 'SIGKILL');
        reject(
          new Error(
            `no exit after ${timeoutMs}ms: ${script}\nstdout: ${stdout}\nstderr: ${stderr}`,
          ),
        );
      }, timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
    });
  }

  private async startBackground(step: Step): Promise<void> {
    const child = this.spawnBash(step.run);
    this.background.push(child);
    let log = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${log}`);
        return shows(log, step.until!);
      },
      {
        timeoutMs: this.timeouts.backgroundTimeoutMs ?? 180_000,
        intervalMs: 250,
        message: `${step.run}: waiting for "${step.until}"`,
      },
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- output ---\n${log}`);
    });
  }

  /** Runs one step; `timeouts` (e.g. longer ones for real guests) override the runner's for this step. */
  async runStep(step: Step, timeouts: Timeouts = {}): Promise<void> {
    const saved = this.timeouts;
    this.timeouts = { ...this.timeouts, ...timeouts };
    try {
      await this.runOne(step);
    } finally {
      this.timeouts = saved;
    }
  }

  private async runOne(step: Step): Promise<void> {
    if (step.mode === 'skip') return;
    if (step.before !== undefined) {
      const r = await this.bash(step.before);
      assert.equal(r.code, 0, `before \`${step.command}\`: ${step.before}\n${shown(r)}`);
    }
    if (step.mode === 'background') return this.startBackground(step);
    if (step.mode === 'terminal') return this.runInTerminal(step);
    const result =
      step.mode === 'retry'
        ? await waitFor(
            async () => {
              const r = await this.bash(step.run);
              return r.code === 0 && shows(`${r.stdout}${r.stderr}`, step.until!) ? r : undefined;
            },
            {
              timeoutMs: this.timeouts.retryTimeoutMs ?? 120_000,
              intervalMs: 1000,
              message: `${step.run}: until "${step.until}"`,
            },
          )
        : await this.bash(step.run);
    if (step.mode === 'fails') {
      assert.notEqual(result.code, 0, `expected to fail: ${step.run}\n${shown(result)}`);
      assert.ok(
        shows(`${result.stdout}${result.stderr}`, step.until!),
        `expected "${step.until}" in the failure of ${step.run}\n${shown(result)}`,
      );
    } else {
      assert.equal(result.code, 0, `README line ${step.line}: ${step.run}\n${shown(result)}`);
    }
    if (step.expected !== undefined) {
      const difference = compareOutput(step.expected, result.stdout, this.options.given);
      assert.equal(
        difference,
        undefined,
        `README line ${step.line}: ${step.command}\n${difference}`,
      );
    }
    if (/^export [A-Za-z_][A-Za-z0-9_]*=/.test(step.run)) this.prelude.push(step.run);
    if (step.capture !== undefined)
      this.prelude.push(`export ${step.capture}=${quote(result.stdout.trim())}`);
  }

  /** Stops what `background` steps started (their process groups): SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const signal = (child: ChildProcess, name: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, name);
      } catch {
        // already gone
      }
    };
    await Promise.all(
      this.background.map(async (child) => {
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((resolve) => child.once('close', resolve));
          signal(child, 'SIGTERM');
          await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, graceMs))]);
        }
        signal(child, 'SIGKILL');
      }),
    );
  }
}
