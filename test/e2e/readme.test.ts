// The README's command blocks, run in order as a new user would, from a project directory of their own (bin/ and
// scripts/ of this checkout, a fresh `.harrow` data dir, a fresh HOME), against the server the quick start's
// `scripts/up` starts (sim runtime), then the deferred blocks: `harrow down`, the offline repair, and the "Several
// hosts" section on real parts (a control-plane replica on an etcd member this test starts, a control plane on the
// quick start's data dir, a qemu agent with real guests on an underlay bridge this test makes). Each command must exit
// 0 (or fail as its `fails` directive says); a ```console block's output must match what the README shows
// (test/support/readme.ts: the rules that may differ). The HTML comments `<!-- readme-test … -->` in the README say
// which commands run differently, and why; a command that `needs` root, QEMU or etcd is skipped, saying which is
// missing, only on a machine without it.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HARROW_BIN, REPO_ROOT, killProcessesUsing } from './harness.ts';
import { runtimesUnderTest } from './runtimes.ts';
import { ETCD_BIN, startEtcdCluster, type EtcdCluster } from '../support/etcd.ts';
import {
  givenMacs,
  readmeSteps,
  zoneKeepingWindowShut,
  type Capability,
  type Step,
} from '../support/readme.ts';
import { ReadmeRunner } from '../support/readme-run.ts';

const steps = readmeSteps(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));

/** Why this machine lacks a capability a `needs` directive names; undefined when it has it. */
const lacking: Record<Capability, string | undefined> = {
  root: process.getuid?.() === 0 ? undefined : 'not root',
  qemu: runtimesUnderTest().find((r) => r.name === 'qemu')!.skip,
  etcd: existsSync(ETCD_BIN) ? undefined : `etcd is not installed at ${ETCD_BIN}`,
};
const skipReason = (step: Step): string | false => {
  if (step.mode === 'skip') return step.reason!;
  const missing = step.needs.filter((c) => lacking[c] !== undefined);
  return missing.length === 0
    ? false
    : `needs ${missing.map((c) => `${c} (${lacking[c]})`).join(', ')}`;
};
const runs = (need: Capability): boolean =>
  steps.some((s) => s.needs.includes(need) && skipReason(s) === false);

const project = mkdtempSync(join(tmpdir(), 'harrow-readme-'));
symlinkSync(join(REPO_ROOT, 'bin'), join(project, 'bin'));
symlinkSync(join(REPO_ROOT, 'scripts'), join(project, 'scripts'));
mkdirSync(join(project, 'home'));

// The reader's environment: none of this process's HARROW_* or KUBECONFIG, a HOME of their own (the image store
// defaults to ~/.cache/harrow/images). README_* are what the directives' commands take from this test.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('HARROW_') && k !== 'KUBECONFIG'),
);
env.HOME = join(project, 'home');
// The image store scripts/setup filled on this host (it builds the Debian image when root), which the reader's has.
env.README_HOST_IMAGES =
  process.env.HARROW_IMAGE_DIR ?? join(homedir(), '.cache', 'harrow', 'images');
// The README's example window (Saturday 01:30 UTC, 90 min) in a zone where it stays shut for the whole run, so
// `restart --in-window` plans a restart and `--cancel` has one to cancel at any hour the test runs.
const windowStep = steps.find((s) => s.run.includes('$README_WINDOW_ZONE'));
const windowArgs = /--schedule '([^']+)' --duration (\S+)/.exec(windowStep?.run ?? '');
if (windowStep && !windowArgs)
  throw new Error(`README line ${windowStep.line}: no --schedule '…' --duration … to keep shut`);
if (windowArgs)
  env.README_WINDOW_ZONE = zoneKeepingWindowShut(
    windowArgs[1]!,
    windowArgs[2]!,
    new Date(),
    3 * 3600_000,
  );

/** Real guests under TCG on a busy machine boot in minutes, not milliseconds; an image build takes minutes. */
const SLOW_TIMEOUTS = {
  commandTimeoutMs: 600_000,
  retryTimeoutMs: 900_000,
  backgroundTimeoutMs: 600_000,
};

describe(
  'README: every command block, in order, on sim, then the deferred ones on real parts',
  { concurrency: false },
  () => {
    const runner = new ReadmeRunner({ cwd: project, env, given: givenMacs(steps) });
    let etcd: EtcdCluster | undefined;
    const bridge = `hru${randomBytes(4).toString('hex')}`;
    let bridgeMade = false;

    before(async () => {
      if (runs('etcd')) {
        etcd = await startEtcdCluster(1);
        env.README_ETCD = etcd.endpoints[0];
      }
      if (runs('qemu')) {
        // The underlay the README's hosts share (scripts/three-hosts calls it h3u0): a bridge of this test's own name.
        execFileSync('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
        bridgeMade = true;
        execFileSync('ip', ['link', 'set', 'dev', bridge, 'up']);
        env.README_UNDERLAY = bridge;
      }
    });

    after(async () => {
      await runner.stop();
      // Whatever a failed step left: each data dir's server, agent, guests, namespaces and bridges (`harrow down`).
      for (const dir of readdirSync(project).filter((d) => d.startsWith('.harrow'))) {
        const down = spawnSync(HARROW_BIN, ['down', '--data-dir', dir], {
          cwd: project,
          env,
          encoding: 'utf8',
          timeout: 180_000,
        });
        if (down.status !== 0)
          console.error(
            `harrow down --data-dir ${dir}: exit ${down.status}\n${down.stdout}${down.stderr}`,
          );
      }
      killProcessesUsing(project);
      if (bridgeMade) spawnSync('ip', ['link', 'delete', 'dev', bridge], { stdio: 'ignore' });
      await etcd?.stop();
      rmSync(project, { recursive: true, force: true });
    });

    for (const step of steps) {
      const name = `${step.section}, line ${step.line}: ${step.command.split('\n')[0]!.replace(/\s+#.*$/, '')}`;
      const slow = step.needs.length > 0;
      it(name, { skip: skipReason(step), timeout: slow ? 1_200_000 : 300_000 }, () =>
        runner.runStep(step, slow ? SLOW_TIMEOUTS : {}),
      );
    }
  },
);
