// `harrow down` at the command line: refusals name the flag, a data dir that holds nothing is left as it is (exit 0,
// again and again), and a server.json whose pid is not a `harrow serve` is never signalled.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { qemuInstanceId } from '../../src/runtime/choice.ts';
import { runCliInProcess, type CliRun } from './cli-fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'harrow-cli-down-'));
after(() => rmSync(root, { recursive: true, force: true }));

const harrow = (args: string[]): Promise<CliRun> =>
  runCliInProcess(args, { env: { HOME: root }, cwd: root });

test('down refuses bad flags with exit 2, naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['down', '--data-dir', 'a', '--instance-id', 'h1'], /--data-dir or --instance-id, not both/],
    [['down', '--instance-id', 'Bad!'], /--instance-id "Bad!": must be 1-24 characters/],
    [['down', '--timeout', 'soon'], /--timeout "soon"/],
    [['down', 'extra'], /down: unexpected argument "extra"/],
  ];
  for (const [args, re] of cases) {
    const r = await harrow(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  assert.match((await harrow(['down', '--help'])).stdout, /^Usage: harrow down /);
});

test('a data dir that holds nothing on this host: exit 0 every time, nothing created', async () => {
  const dataDir = join(root, 'never-served');
  for (let i = 0; i < 2; i++) {
    const r = await harrow(['down', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`instance ${qemuInstanceId(dataDir)} \\(data dir ${dataDir}\\)`),
    );
    assert.match(r.stdout, /nothing to remove/);
  }
  assert.equal(existsSync(dataDir), false);
  const json = await harrow(['down', '--data-dir', dataDir, '-o', 'json']);
  const report = JSON.parse(json.stdout) as { instanceId: string; left: { guests: unknown[] } };
  assert.equal(report.instanceId, qemuInstanceId(dataDir));
  assert.deepEqual(report.left.guests, []);
});

test('a server.json naming a live process that is not harrow serve: the process is left alone', async () => {
  const dataDir = join(root, 'stale');
  mkdirSync(dataDir);
  // The test runner that started this file: alive, and its command line has no `serve`.
  const pid = process.ppid;
  writeFileSync(join(dataDir, 'server.json'), JSON.stringify({ url: 'http://x', pid }));
  const r = await harrow(['down', '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /stopped harrow serve/);
  process.kill(pid, 0);
  assert.equal(JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')).pid, pid);
});

test('--list prints the instances on this host (JSON: a list)', async () => {
  const r = await harrow(['down', '--list', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Array.isArray(JSON.parse(r.stdout)));
});
