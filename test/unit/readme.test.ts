// The README test's reader and comparator (test/support/readme.ts): what becomes a step, what a directive does, and
// that a changed output line, a failing command or a refused directive fails, while only the documented variations
// pass. The runner runs real bash (no server).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  compareOutput,
  givenMacs,
  normaliseOutput,
  readmeSteps,
  shows,
  terminalDialogue,
  zoneKeepingWindowShut,
} from '../support/readme.ts';
import { ReadmeRunner } from '../support/readme-run.ts';

const fence = '```';

describe('readmeSteps', () => {
  it('reads sh commands in order, joins continued lines, leaves comments and indented notes to bash', () => {
    const steps = readmeSteps(
      [
        '## One',
        `${fence}sh`,
        'export A=1   # a comment',
        '# a whole-line comment',
        'cmd one \\',
        '  --flag',
        '                 # the previous command, explained',
        `${fence}`,
        '## Two',
        `${fence}json`,
        '{"not": "commands"}',
        `${fence}`,
        `${fence}sh`,
        'cmd two',
        `${fence}`,
      ].join('\n'),
    );
    assert.deepEqual(
      steps.map((s) => [s.section, s.line, s.command, s.mode]),
      [
        ['One', 3, 'export A=1   # a comment', 'run'],
        ['One', 5, 'cmd one \\\n  --flag', 'run'],
        ['Two', 14, 'cmd two', 'run'],
      ],
    );
  });

  it('reads a console block as commands with the output that follows each', () => {
    const steps = readmeSteps(
      [`${fence}console`, '$ get vm', 'NAME  AGE', 'demo  5s', '$ true', `${fence}`].join('\n'),
    );
    assert.deepEqual(
      steps.map((s) => [s.command, s.expected]),
      [
        ['get vm', 'NAME  AGE\ndemo  5s'],
        ['true', ''],
      ],
    );
  });

  it('applies each directive to the one command its prefix names', () => {
    const steps = readmeSteps(
      [
        '<!-- readme-test',
        'skip `slow` — takes an hour',
        'as `up` `FAST=1 up` — the test needs it fast',
        'background `up` until `ready` — it runs until stopped',
        'retry `poll` until `done` — it follows later',
        'fails `repair` with `stop it` — the server runs',
        'capture `mint` as `TOKEN` — used below',
        'before `import` `touch f` — the file the reader has',
        '-->',
        '',
        `${fence}sh`,
        'up',
        'slow',
        'poll',
        'repair --now',
        'mint',
        'import f',
        'plain',
        `${fence}`,
      ].join('\n'),
    );
    const by = Object.fromEntries(steps.map((s) => [s.command, s]));
    assert.equal(by.up!.run, 'FAST=1 up');
    assert.equal(by.up!.mode, 'background');
    assert.equal(by.up!.until, 'ready');
    assert.equal(by.slow!.mode, 'skip');
    assert.equal(by.slow!.reason, 'takes an hour');
    assert.deepEqual([by.poll!.mode, by.poll!.until], ['retry', 'done']);
    assert.deepEqual([by['repair --now']!.mode, by['repair --now']!.until], ['fails', 'stop it']);
    assert.equal(by.mint!.capture, 'TOKEN');
    assert.equal(by['import f']!.before, 'touch f');
    assert.deepEqual([by.plain!.mode, by.plain!.run], ['run', 'plain']);
  });

  it('runs deferred commands last, in README order; an exact command wins over longer ones; skip every command', () => {
    const steps = readmeSteps(
      [
        '<!-- readme-test',
        'defer `down` — stops the server',
        '-->',
        `${fence}sh`,
        'down     # for good',
        'down --list',
        fence,
        `${fence}sh`,
        'later',
        fence,
        '<!-- readme-test',
        'skip every command — benchmarks',
        '-->',
        `${fence}sh`,
        'bench a',
        'bench b',
        fence,
      ].join('\n'),
    );
    assert.deepEqual(
      steps.map((s) => [s.command.replace(/\s+#.*/, ''), s.mode, s.deferred]),
      [
        ['down --list', 'run', false],
        ['later', 'run', false],
        ['bench a', 'skip', false],
        ['bench b', 'skip', false],
        ['down', 'run', true],
      ],
    );
  });

  it('defers every command of a block, keeps README order among the deferred, reads needs and terminal', () => {
    const steps = readmeSteps(
      [
        '<!-- readme-test',
        'defer `stop` — stops the server',
        '-->',
        `${fence}sh`,
        'stop',
        'console vm',
        fence,
        '<!-- readme-test',
        'defer every command — after the stop',
        'needs `agent` `root, qemu` — real guests',
        'terminal `agent` with `→ ready · ⏎ → login: · root⏎ · Ctrl-]` — on a terminal',
        '-->',
        `${fence}sh`,
        'agent --go',
        'nodes',
        fence,
      ].join('\n'),
    );
    assert.deepEqual(
      steps.map((s) => [s.command, s.mode, s.deferred, s.needs]),
      [
        ['console vm', 'run', false, []],
        ['stop', 'run', true, []],
        ['agent --go', 'terminal', true, ['root', 'qemu']],
        ['nodes', 'run', true, []],
      ],
    );
    assert.deepEqual(terminalDialogue(steps[2]!.until!), [
      { keys: '', until: 'ready' },
      { keys: '\r', until: 'login:' },
      { keys: 'root\r' },
      { keys: '\x1d' },
    ]);
  });

  it('refuses a capability it does not know, an empty terminal turn, and two modes on one command', () => {
    const block = (directive: string, ...commands: string[]): string =>
      ['<!-- readme-test', directive, '-->', `${fence}sh`, ...commands, fence].join('\n');
    assert.throws(
      () => readmeSteps(block('needs `a` `root, gpu` — x', 'a')),
      /"gpu", not one of root, qemu, etcd/,
    );
    assert.throws(() => readmeSteps(block('terminal `a` with `x ·  · y` — x', 'a')), /empty turn/);
    assert.throws(
      () => readmeSteps(block('skip `a` — x\nterminal `a` with `y` — z', 'a')),
      /more than one of skip\/background\/retry\/fails\/terminal/,
    );
  });

  it('refuses a directive without a reason, one that names no command or two, and one not before a block', () => {
    const block = (directive: string, ...commands: string[]): string =>
      ['<!-- readme-test', directive, '-->', `${fence}sh`, ...commands, fence].join('\n');
    assert.throws(() => readmeSteps(block('skip `a`', 'a')), /not a readme-test directive/);
    assert.throws(() => readmeSteps(block('skip `b` — gone', 'a')), /matches 0 commands/);
    assert.throws(() => readmeSteps(block('skip `a` — twice', 'a 1', 'a 2')), /matches 2 commands/);
    assert.throws(() => readmeSteps(block('as `a` — to what?', 'a')), /needs second argument/);
    assert.throws(
      () =>
        readmeSteps(
          ['<!-- readme-test', 'skip `a` — x', '-->', 'prose', `${fence}sh`, 'a', fence].join('\n'),
        ),
      /must come right before a block/,
    );
  });

  it("reads this repository's README: every directive binds, the quick start comes first", () => {
    const steps = readmeSteps(readFileSync(new URL('../../README.md', import.meta.url), 'utf8'));
    assert.equal(steps[0]!.command.split(/\s/)[0], 'scripts/up');
    assert.equal(steps[0]!.mode, 'background');
    assert.ok(
      steps.some((s) => s.expected !== undefined),
      'the README shows some output',
    );
    for (const s of steps.filter((x) => x.mode === 'skip'))
      assert.ok(s.reason, `${s.command}: no reason`);
  });
});

describe('zoneKeepingWindowShut (the README window example at any hour)', () => {
  const hours = 3 * 3600_000;
  it('keeps UTC, as the README shows, when the window is days away', () => {
    assert.equal(
      zoneKeepingWindowShut('30 1 * * SAT', '90m', new Date('2026-12-02T12:00:00Z'), hours),
      'UTC',
    );
  });
  it('moves the window 12 h when the run is in it, about to reach it, or at its last minute', () => {
    for (const at of ['2026-12-05T02:00:00Z', '2026-12-04T23:00:00Z', '2026-12-05T02:59:00Z'])
      assert.equal(
        zoneKeepingWindowShut('30 1 * * SAT', '90m', new Date(at), hours),
        'Etc/GMT+12',
        at,
      );
    assert.equal(
      zoneKeepingWindowShut('30 1 * * SAT', '90m', new Date('2026-12-05T03:00:00Z'), hours),
      'UTC',
    );
  });
  it('refuses a window it cannot keep shut in any zone given', () => {
    assert.throws(
      () => zoneKeepingWindowShut('* * * * *', '1m', new Date(), hours),
      /opens within/,
    );
  });
});

describe('compareOutput', () => {
  const readme = [
    'NAME   AGE   STATUS    MACS',
    'demo   28s   Running   default=02:48:52:7f:e3:ee',
    'copy   5m2s  Running   default=02:48:52:00:00:44',
  ].join('\n');
  const given = new Set(['02:48:52:00:00:44']);

  it('passes what differs only by age, padding, a pool MAC, time, uid or token', () => {
    const actual = [
      'NAME   AGE     STATUS    MACS',
      'demo   3h10m   Running   default=02:48:52:12:34:56',
      'copy   1d      Running   default=02:48:52:00:00:44',
      '',
    ].join('\n');
    assert.equal(compareOutput(readme, actual, given), undefined);
    assert.equal(
      compareOutput(
        'at 2026-01-01T00:00:00Z uid 5ece23f3-66d7-4f98-bfc7-f56f08fb9c57 harrow_eda95e260e76_abc',
        'at 2026-12-05T13:04:18.165Z uid 0d0a6e55-0000-4f98-bfc7-f56f08fb9c57 harrow_0123456789ab_x-Y_z',
      ),
      undefined,
    );
  });

  it('fails on a changed line, naming it', () => {
    const actual = readme.replace('Running   default=02:48:52:7f', 'Stopped   default=02:48:52:7f');
    const difference = compareOutput(readme, actual, given);
    assert.match(difference ?? '', /output line 2 differs:\n {2}README: demo <age> Running/);
    assert.match(difference ?? '', /actual: demo <age> Stopped/);
  });

  it('fails on a missing or an extra line', () => {
    assert.match(
      compareOutput(readme, readme.split('\n').slice(0, 2).join('\n'), given) ?? '',
      /line 3 differs/,
    );
    assert.match(
      compareOutput(readme, `${readme}\nmore`, given) ?? '',
      /line 4 differs:[^]*\(no line\)/,
    );
  });

  it('fails when a given MAC changes, or one pool MAC shows where the README shows two', () => {
    assert.ok(compareOutput(readme, readme.replace('00:00:44', '00:00:45'), given));
    const twoPool = 'a 02:48:52:00:00:01\nb 02:48:52:00:00:02';
    assert.equal(compareOutput(twoPool, 'a 02:48:52:aa:00:01\nb 02:48:52:bb:00:02'), undefined);
    assert.ok(compareOutput(twoPool, 'a 02:48:52:aa:00:01\nb 02:48:52:aa:00:01'));
  });

  it('reads an until text as text, or as a regular expression a line matches when written /…/', () => {
    const table =
      'NAME  PHASE    IP         NODENAME\na     Running  10.0.0.2   node-1\nb     Pending             host-a';
    assert.ok(shows(table, 'host-a'));
    assert.ok(!shows(table, '/Running .* host-a/'), 'Running and host-a on different lines');
    assert.ok(shows(`${table}\nc     Running  10.0.0.3   host-a`, '/Running .* host-a/'));
  });

  it('rewrites an age only in the AGE column', () => {
    assert.equal(normaliseOutput('NAME   AGE\ndemo   5s'), 'NAME AGE\ndemo <age>');
    assert.equal(normaliseOutput('took 5s'), 'took 5s');
    assert.equal(
      normaliseOutput('NAME   DURATION   AGE\nw      2h         9m'),
      'NAME DURATION AGE\nw 2h <age>',
    );
  });

  it("takes the README commands' MACs as given", () => {
    const steps = readmeSteps(
      [`${fence}sh`, 'set-mac demo default 02:48:52:00:00:42', 'ls', fence].join('\n'),
    );
    assert.deepEqual([...givenMacs(steps)], ['02:48:52:00:00:42']);
  });
});

describe('ReadmeRunner (real bash, no server)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'harrow-readme-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (markdown: string, commandTimeoutMs = 20_000): Promise<void> => {
    const runner = new ReadmeRunner({
      cwd: dir,
      env: process.env,
      commandTimeoutMs,
      retryTimeoutMs: 1500,
      backgroundTimeoutMs: 5000,
    });
    try {
      for (const step of readmeSteps(markdown)) await runner.runStep(step);
    } finally {
      await runner.stop(1000);
    }
  };
  const sh = (...lines: string[]): string => [`${fence}sh`, ...lines, fence].join('\n');
  const shown = (...lines: string[]): string => [`${fence}console`, ...lines, fence].join('\n');

  it('passes a README whose commands succeed and print what it shows, keeping exports and captures', async () => {
    await run(
      [
        sh('export NAME=demo'),
        '<!-- readme-test\ncapture `echo secret` as `SECRET` — used below\n-->',
        sh('echo secret'),
        shown('$ echo "$NAME $SECRET"', 'demo secret'),
      ].join('\n'),
    );
  });

  it('fails when a command fails, naming it and its exit code', async () => {
    await assert.rejects(run(sh('true', 'ls /no/such/dir   # a comment')), (e: Error) => {
      assert.match(e.message, /ls \/no\/such\/dir/);
      assert.match(e.message, /exit 2/);
      return true;
    });
  });

  it('fails when an output line stops matching the README', async () => {
    await assert.rejects(
      run(shown('$ printf "NAME   AGE\\ndemo   5s\\n"', 'NAME   AGE', 'dome   2m')),
      /output line 2 differs:\n {2}README: dome <age>\n {2}actual: demo <age>/,
    );
  });

  it('fails a `fails` step that succeeds or fails otherwise, a retry that never gets there, a background that exits', async () => {
    const directive = (d: string, ...commands: string[]): string =>
      [`<!-- readme-test\n${d}\n-->`, sh(...commands)].join('\n');
    await assert.rejects(run(directive('fails `true` with `x` — y', 'true')), /expected to fail/);
    await assert.rejects(
      run(directive('fails `echo no; false` with `stop it` — y', 'echo no; false')),
      /expected "stop it"/,
    );
    await assert.rejects(
      run(directive('retry `echo a` until `b` — y', 'echo a')),
      /until "b": timed out/,
    );
    await assert.rejects(
      run(directive('background `echo bye` until `ready` — y', 'echo bye')),
      /exited 0/,
    );
  });

  it('answers a terminal dialogue on a real pseudo-terminal; fails when an answer never shows or the exit is not 0', async () => {
    const terminal = (dialogue: string, command: string): string =>
      [`<!-- readme-test\nterminal \`${command}\` with \`${dialogue}\` — y\n-->`, sh(command)].join(
        '\n',
      );
    const login = `test -t 0 && read -r -p 'login: ' u && echo "hello $u" && read -r -n 1 k && test "$k" = $'\\x1d'`;
    await run(
      terminal('⏎ → login: · root⏎ → hello root · Ctrl-]', login).replace('⏎ → login', '→ login'),
    );
    await assert.rejects(
      run(terminal('→ login: · root⏎ → welcome', login), 3000),
      /waiting for "welcome"[^]*hello root/,
    );
    await assert.rejects(run(terminal('→ login: · root⏎ → hello · x', login)), /exit 1/);
  });
});
