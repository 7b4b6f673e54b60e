// Table layout and kubectl-style ages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { age, formatTable, humanDuration, truncate } from '../../src/cli/table.ts';

test('columns are padded to the widest cell plus three spaces; the last column is not padded', () => {
  const t = formatTable(
    ['NAME', 'STATUS', 'MACS'],
    [
      ['vm-a', 'Running', 'default=02:00:00:00:00:01'],
      ['a-much-longer-name', 'Stopped', '-'],
    ],
  );
  assert.equal(
    t,
    'NAME                 STATUS    MACS\n' +
      'vm-a                 Running   default=02:00:00:00:00:01\n' +
      'a-much-longer-name   Stopped   -\n',
  );
});

test('cells with newlines stay on one line; multi-byte characters count as one column', () => {
  const t = formatTable(
    ['A', 'B'],
    [
      ['x\ny', '1'],
      ['→…', '2'],
    ],
  );
  assert.equal(t, 'A     B\nx y   1\n→…    2\n');
});

test('humanDuration follows kubectl', () => {
  const s = 1000;
  const cases: Array<[number, string]> = [
    [-5 * s, '<invalid>'],
    [0, '0s'],
    [119 * s, '119s'],
    [2 * 60 * s, '2m'],
    [(5 * 60 + 10) * s, '5m10s'],
    [45 * 60 * s, '45m'],
    [(3 * 60 + 5) * 60 * s, '3h5m'],
    [30 * 3600 * s, '30h'],
    [(3 * 24 + 4) * 3600 * s, '3d4h'],
    [400 * 86400 * s, '400d'],
    [(2 * 365 + 100) * 86400 * s, '2y100d'],
    [9 * 365 * 86400 * s, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test('age of a timestamp; unknown when absent or unreadable', () => {
  const now = new Date('2026-01-01T00:10:00Z');
  assert.equal(age('2026-01-01T00:00:00Z', now), '10m');
  assert.equal(age(undefined, now), '<unknown>');
  assert.equal(age('yesterday', now), '<unknown>');
});

test('truncate keeps short text and ellipsises long text', () => {
  assert.equal(truncate('abc', 3), 'abc');
  assert.equal(truncate('abcdef', 4), 'abc…');
});
