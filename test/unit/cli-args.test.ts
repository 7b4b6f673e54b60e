// The flag values every command shares: -o, -n and durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globalFlags, parseDuration } from '../../src/cli/args.ts';
import { UsageError } from '../../src/cli/errors.ts';

test('-o: table by default, json and yaml; wide only for get; anything else refused naming the value', () => {
  assert.equal(globalFlags({}, 'get').output, 'table');
  assert.deepEqual(
    [globalFlags({ output: 'wide' }, 'get').output, globalFlags({ output: 'wide' }, 'get').wide],
    ['table', true],
  );
  assert.equal(globalFlags({ output: 'yaml' }, 'drift').output, 'yaml');
  assert.equal(globalFlags({ output: 'name' }, 'get').names, true);
  assert.throws(() => globalFlags({ output: 'name' }, 'drift'), /-o name: only get prints names/);
  assert.throws(
    () => globalFlags({ output: 'xml' }, 'get'),
    (e: unknown) => e instanceof UsageError && /-o xml: unknown output format/.test(e.message),
  );
  assert.throws(
    () => globalFlags({ output: 'wide' }, 'describe'),
    (e: unknown) => e instanceof UsageError && /-o wide: only get/.test(e.message),
  );
  assert.throws(() => globalFlags({ namespace: '' }, 'get'), /-n: an empty namespace/);
});

test('durations: bare seconds and units', () => {
  assert.equal(parseDuration('120', '--timeout'), 120_000);
  assert.equal(parseDuration('90s', '--timeout'), 90_000);
  assert.equal(parseDuration('2m', '--timeout'), 120_000);
  assert.equal(parseDuration('1.5h', '--timeout'), 5_400_000);
  assert.equal(parseDuration('250ms', '--timeout'), 250);
  assert.throws(() => parseDuration('soon', '--timeout'), /--timeout "soon": expected a duration/);
});
