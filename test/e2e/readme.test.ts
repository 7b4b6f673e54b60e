// The README's command blocks, run in order as a new user would, from a project directory of their own (bin/ and
// scripts/ of this checkout, a fresh `.harrow` data dir, a fresh HOME), against the server the quick start's
// `scripts/up` starts (sim runtime). Each command must exit 0 (or fail as its `fails` directive says); a ```console
// block's output must match what the README shows (test/support/readme.ts: the rules that may differ). The HTML
// comments `<!-- readme-test … -->` in the README say which commands run differently, and why.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT, killProcessesUsing } from './harness.ts';
import { givenMacs, readmeSteps } from '../support/readme.ts';
import { ReadmeRunner } from '../support/readme-run.ts';

const steps = readmeSteps(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));

const project = mkdtempSync(join(tmpdir(), 'harrow-readme-'));
symlinkSync(join(REPO_ROOT, 'bin'), join(project, 'bin'));
symlinkSync(join(REPO_ROOT, 'scripts'), join(project, 'scripts'));
mkdirSync(join(project, 'home'));

// The reader's environment: none of this process's HARROW_* or KUBECONFIG, a HOME of their own (the image store
// defaults to ~/.cache/harrow/images).
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('HARROW_') && k !== 'KUBECONFIG'),
);
env.HOME = join(project, 'home');

describe('README: every command block, in order, on sim', { concurrency: false }, () => {
  const runner = new ReadmeRunner({ cwd: project, env, given: givenMacs(steps) });
  after(() => {
    runner.stop();
    killProcessesUsing(project);
    rmSync(project, { recursive: true, force: true });
  });

  for (const step of steps) {
    const name = `${step.section}, line ${step.line}: ${step.command.split('\n')[0]!.replace(/\s+#.*$/, '')}`;
    it(name, { skip: step.mode === 'skip' ? step.reason : false, timeout: 300_000 }, () =>
      runner.runStep(step),
    );
  }
});
