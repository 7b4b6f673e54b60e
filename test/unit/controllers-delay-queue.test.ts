// The controllers' delay queue (requeue-after and retry timers) on the pool's deadline heap: keys fire in due order,
// once, at their earliest schedule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DelayQueue } from '../../src/controllers/runner/delay-queue.ts';

test('keys fire in due order, each once, at the earliest time it was scheduled for', () => {
  let now = 1_000;
  const fired: string[] = [];
  const queue = new DelayQueue(
    (key) => fired.push(`${key}@${now}`),
    () => now,
  );
  try {
    queue.add('c', 300);
    queue.add('a', 100);
    queue.add('b', 200);
    queue.add('c', 50); // an earlier schedule wins; the later entry is skipped
    queue.add('a', 500); // a later one is dropped
    now = 1_100;
    queue.fireDue();
    assert.deepEqual(fired, ['c@1100', 'a@1100']);
    assert.ok(queue.has('b') && !queue.has('a') && !queue.has('c'));
    now = 2_000;
    queue.fireDue();
    assert.deepEqual(fired, ['c@1100', 'a@1100', 'b@2000']);
    queue.add('d', 10);
    queue.clear();
    now = 3_000;
    queue.fireDue();
    assert.equal(fired.length, 3, 'clear() drops what was scheduled');
  } finally {
    queue.clear();
  }
});
