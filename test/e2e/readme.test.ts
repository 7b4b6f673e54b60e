// The README's command blocks, run in order as a new user would, from a project directory of their own (bin/ and
// scripts/ of this checkout, a fresh `.harrow` data dir, a fresh HOME), against the server the quick start's
// `scripts/up` starts (sim runtime). Each command must exit 0 (or fail as its `fails` directive says); a ```console
// block's output must match what the README shows (test/support/readme.ts: the rules that may differ). The HTML
// comments `<!-- readme-test … -->` in the README say which commands run differently, and why.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT, killProcessesUsing, waitFor } from './harness.ts';
import { compareOutput, givenMacs, readmeSteps, type Step } from '../support/readme.ts';

const steps = readmeSteps(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
const given = givenMacs(steps);

const project = mkdtempSync(join(tmpdir(), 'harrow-readme-'));
symlinkSync(join(REPO_ROOT, 'bin'), join(project, 'bin'));
symlinkSync(join(REPO_ROOT, 'scripts'), join(project, 'scripts'));
mkdirSync(join(project, 'home'));

// The reader's environment: none of this process's HARROW_* or KUBECONFIG, a HOME of their own (the image store
// defaults to ~/.cache/harrow/images).
const baseEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('HARROW_') && k !== 'KUBECONFIG'),
);
baseEnv.HOME = join(project, 'home');

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
/** Lines run before every command: the README's `export`s and the captured values so far. */
const prelude: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function bash(script: string, timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -o pipefail\n${prelude.join('\n')}\n${script}`], {
      cwd: project,
      env: baseEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(
        new Error(`no exit after ${timeoutMs}ms: ${script}\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

const background: ChildProcess[] = [];

async function startBackground(step: Step): Promise<void> {
  const child = spawn('bash', ['-c', `${prelude.join('\n')}\n${step.run}`], {
    cwd: project,
    env: baseEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  background.push(child);
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${log}`);
      return log.includes(step.until!);
    },
    { timeoutMs: 180_000, intervalMs: 250, message: `${step.run}: waiting for "${step.until}"` },
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n--- output ---\n${log}`);
  });
}

const shown = (r: Run): string =>
  `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

async function runStep(step: Step): Promise<void> {
  if (step.before !== undefined) {
    const r = await bash(step.before);
    assert.equal(r.code, 0, `before \`${step.command}\`: ${step.before}\n${shown(r)}`);
  }
  if (step.mode === 'background') return startBackground(step);
  let result: Run;
  if (step.mode === 'retry') {
    result = await waitFor(
      async () => {
        const r = await bash(step.run);
        return r.code === 0 && `${r.stdout}${r.stderr}`.includes(step.until!) ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000, message: `${step.run}: until "${step.until}"` },
    );
  } else {
    result = await bash(step.run);
  }
  if (step.mode === 'fails') {
    assert.notEqual(result.code, 0, `expected to fail: ${step.run}\n${shown(result)}`);
    assert.ok(
      `${result.stdout}${result.stderr}`.includes(step.until!),
      `expected "${step.until}" in the failure of ${step.run}\n${shown(result)}`,
    );
  } else {
    assert.equal(result.code, 0, `${step.run}\n${shown(result)}`);
  }
  if (step.expected !== undefined) {
    const difference = compareOutput(step.expected, result.stdout, given);
    assert.equal(difference, undefined, `README line ${step.line}: ${step.command}\n${difference}`);
  }
  if (/^export [A-Za-z_][A-Za-z0-9_]*=/.test(step.run)) prelude.push(step.run);
  if (step.capture !== undefined)
    prelude.push(`export ${step.capture}=${quote(result.stdout.trim())}`);
}

describe('README: every command block, in order, on sim', { concurrency: false }, () => {
  after(() => {
    for (const child of background) {
      try {
        if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    killProcessesUsing(project);
    rmSync(project, { recursive: true, force: true });
  });

  for (const step of steps) {
    const name = `${step.section}, line ${step.line}: ${step.command.split('\n')[0]!.replace(/\s+#.*$/, '')}`;
    it(name, { skip: step.mode === 'skip' ? step.reason : false, timeout: 300_000 }, () =>
      runStep(step),
    );
  }
});
