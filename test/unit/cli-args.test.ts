// Command-line parsing: global flags anywhere, the command word, `--`, usage errors and durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  expectPositionals,
  findCommand,
  parseCommandLine,
  parseDuration,
} from '../../src/cli/args.ts';
import { UsageError } from '../../src/cli/errors.ts';

test('the command word is found past global flags and their values', () => {
  assert.deepEqual(findCommand(['-n', 'prod', '--server', 'http://x', 'get', 'vm']), {
    command: 'get',
    index: 4,
  });
  assert.deepEqual(findCommand(['--namespace=prod', '-o', 'json', 'drift']), {
    command: 'drift',
    index: 3,
  });
  assert.deepEqual(findCommand(['-A', 'drift']), { command: 'drift', index: 1 });
  assert.deepEqual(findCommand(['--help']), { index: -1 });
});

test('global flags before or after the command, command flags, positionals', () => {
  const p = parseCommandLine(
    ['-n', 'prod', 'set-mac', 'vm-a', 'default', '02:00:00:00:00:01', '--restart', '-o', 'yaml'],
    {
      restart: { type: 'boolean' },
    },
  );
  assert.equal(p.command, 'set-mac');
  assert.deepEqual(p.positionals, ['vm-a', 'default', '02:00:00:00:00:01']);
  assert.equal(p.values.restart, true);
  assert.equal(p.globals.namespace, 'prod');
  assert.equal(p.globals.output, 'yaml');
  assert.equal(p.globals.allNamespaces, false);
});

test('everything after -- is kept verbatim for exec, flags included', () => {
  const p = parseCommandLine([
    'exec',
    'vm-a',
    '-n',
    'ns1',
    '--',
    'ip',
    'link',
    'set',
    'eth0',
    '-n',
    'x',
  ]);
  assert.deepEqual(p.positionals, ['vm-a']);
  assert.deepEqual(p.rest, ['ip', 'link', 'set', 'eth0', '-n', 'x']);
  assert.equal(p.globals.namespace, 'ns1');
  assert.equal(p.dashDash, true);
});

test('unknown flags, bad -o and missing values are usage errors naming the flag', () => {
  assert.throws(
    () => parseCommandLine(['get', 'vm', '--frobnicate']),
    (e: unknown) => e instanceof UsageError && /unknown flag --frobnicate/.test(e.message),
  );
  assert.throws(
    () => parseCommandLine(['get', 'vm', '-o', 'xml']),
    (e: unknown) => e instanceof UsageError && /-o xml: unknown output format/.test(e.message),
  );
  assert.throws(
    () => parseCommandLine(['get', 'vm', '-n']),
    (e: unknown) => e instanceof UsageError && /needs a value/.test(e.message),
  );
});

test('positionals: missing ones are named, extra ones refused', () => {
  assert.throws(
    () => expectPositionals(['vm-a'], ['VM', 'IFACE', 'MAC'], 'set-mac'),
    /set-mac: missing IFACE MAC/,
  );
  assert.throws(
    () => expectPositionals(['a', 'b', 'c'], ['TYPE', 'NAME'], 'get', 1),
    /unexpected argument "c"/,
  );
  assert.deepEqual(expectPositionals(['vm'], ['TYPE', 'NAME'], 'get', 1), ['vm']);
});

test('durations: bare seconds and units', () => {
  assert.equal(parseDuration('120', '--timeout'), 120_000);
  assert.equal(parseDuration('90s', '--timeout'), 90_000);
  assert.equal(parseDuration('2m', '--timeout'), 120_000);
  assert.equal(parseDuration('1.5h', '--timeout'), 5_400_000);
  assert.equal(parseDuration('250ms', '--timeout'), 250);
  assert.throws(() => parseDuration('soon', '--timeout'), /--timeout "soon": expected a duration/);
});
