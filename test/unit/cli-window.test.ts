// `harrow window` and `restart --in-window|--cancel`: flag validation naming the flag, what `window show` reports, usage errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { windowAnnotation, windowView } from '../../src/cli/window.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { runCliInProcess, vmFixture, type CliRun } from './cli-fixtures.ts';

const empty = mkdtempSync(join(tmpdir(), 'harrow-cli-window-'));
after(() => rmSync(empty, { recursive: true, force: true }));

// No server: these runs must fail before any request (a request would fail with exit 1, not 2).
const harrow = (args: string[]): Promise<CliRun> =>
  runCliInProcess(args, {
    env: { HOME: empty, HARROW_KUBECONFIG: join(empty, 'none') },
    cwd: empty,
  });

describe('window flags', () => {
  test('the annotation from the flags, zone defaulting to UTC', () => {
    assert.deepEqual(JSON.parse(windowAnnotation({ schedule: '0 2 * * SUN', duration: '2h' })), {
      schedule: '0 2 * * SUN',
      duration: '2h',
      timeZone: 'UTC',
    });
  });

  test('errors name the flag and the cron field', () => {
    assert.throws(
      () => windowAnnotation({ schedule: '0 2 * * SUNDAY', duration: '2h' }),
      /--schedule: cron "0 2 \* \* SUNDAY": day-of-week field/,
    );
    assert.throws(
      () => windowAnnotation({ schedule: '0 2 * * SUN', duration: 'two hours' }),
      /--duration: must be a duration/,
    );
    assert.throws(
      () => windowAnnotation({ schedule: '0 2 * * SUN', duration: '2h', 'time-zone': 'Berlin' }),
      /--time-zone: "Berlin" is not an IANA time zone/,
    );
    assert.throws(() => windowAnnotation({ duration: '2h' }), /--schedule is required/);
  });
});

describe('window show', () => {
  const ns = (annotations: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'default', annotations },
  });
  const now = new Date('2026-11-28T12:00:00Z');

  test("a VM without its own window follows the namespace's; the next opening is shown in the window's zone", () => {
    const v = windowView(
      'default',
      ns({
        'harrow.io/maintenance-window': JSON.stringify({
          schedule: '0 2 * * SUN',
          duration: '2h',
          timeZone: 'Europe/Berlin',
        }),
      }),
      vmFixture('web', []),
      now,
    );
    assert.equal(v.source, 'Namespace');
    assert.equal(v.nextStart, '2026-11-29T01:00:00.000Z');
    assert.equal(v.nextStartLocal, '2026-11-29 02:00 Europe/Berlin');
    assert.equal(v.openUntil, undefined);
  });

  test('reports the planned restart and an open window', () => {
    const vm = vmFixture('web', [], {
      conditions: [{ type: 'RestartScheduled', status: 'True', message: 'restart planned for X' }],
    });
    vm.metadata.annotations = {
      'harrow.io/maintenance-window': JSON.stringify({ schedule: '0 12 * * *', duration: '1h' }),
      'harrow.io/restart-scheduled-at': '2026-11-28T12:00:00Z',
    };
    const v = windowView('default', ns(), vm, now);
    assert.equal(v.source, 'VirtualMachine');
    assert.equal(v.openUntil, '2026-11-28T13:00:00.000Z');
    assert.equal(v.restartScheduledAt, '2026-11-28T12:00:00Z');
    assert.equal(v.restartScheduled, 'restart planned for X');
    assert.equal(windowView('default', ns(), vmFixture('db', []), now).source, 'none');
  });
});

describe('usage', () => {
  test('window needs a verb and a target; restart flags do not mix', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['window'], /window: missing subcommand \(set, show, clear\)/],
      [['window', 'clear'], /window clear: name a VM, or give --namespace-wide/],
      [['window', 'move', 'web'], /window: unknown subcommand "move"/],
      [
        ['window', 'set', '--schedule', '0 2 * * SUN', '--duration', '2h'],
        /name a VM, or give --namespace-wide/,
      ],
      [
        [
          'window',
          'set',
          'web',
          '--namespace-wide',
          '--schedule',
          '0 2 * * SUN',
          '--duration',
          '2h',
        ],
        /either VM or --namespace-wide/,
      ],
      [
        ['window', 'set', 'web', '--schedule', '61 2 * * *', '--duration', '2h'],
        /--schedule: .*minute field: "61" is out of range \(allowed: 0-59/,
      ],
      [['window', 'show', '--schedule', '0 2 * * *'], /window show: unknown flag --schedule/],
      [['restart', 'web', '--in-window', '--cancel'], /--in-window or --cancel, not both/],
      [['restart', 'web', '--in-window', '--wait'], /--wait does not go with --in-window/],
    ];
    for (const [args, message] of cases) {
      const r = await harrow(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });

  test('help lists the commands and flags', async () => {
    const w = await harrow(['window', '--help']);
    assert.match(w.stdout, /^ {2}set \[options\] \[VM\] +set the window of VM/m);
    const set = await harrow(['window', 'set', '--help']);
    assert.match(set.stdout, /^Usage: harrow window set \[options\] \[VM\]/);
    assert.match(set.stdout, /--schedule <CRON> +when the window opens/);
    const r = await harrow(['restart', '--help']);
    assert.match(r.stdout, /--in-window +do not restart now/);
    assert.match(
      (await harrow(['--help'])).stdout,
      /window +Set, show or clear the maintenance window/,
    );
  });
});
