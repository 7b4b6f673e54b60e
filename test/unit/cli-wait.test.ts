// Waiting with a progress line: shown on a terminal only, cleared at the end, and a timeout names the last status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliIO } from '../../src/cli/context.ts';
import { pollUntil } from '../../src/cli/wait.ts';
import { TransportError } from '../../src/client/errors.ts';

function io(tty: boolean): { io: CliIO; err: () => string } {
  let err = '';
  return {
    io: {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s), isTTY: tty },
      stdin: async function* () {},
      env: {},
      cwd: '/',
    },
    err: () => err,
  };
}

test('on a terminal the status is drawn in place and cleared when done', async () => {
  const t = io(true);
  const states = ['Starting', 'Starting', 'Running'];
  const v = await pollUntil(t.io, { label: 'vm-a', timeoutMs: 5000, intervalMs: 5 }, async () => {
    const s = states.shift()!;
    return s === 'Running' ? { done: true, value: 42 } : { done: false, status: s };
  });
  assert.equal(v, 42);
  assert.equal(t.err(), '\r\x1b[Kwaiting for vm-a: Starting… 0s\r\x1b[K');
});

test('off a terminal nothing is drawn; an unreachable server is a status, the timeout names it', async () => {
  const t = io(false);
  await assert.rejects(
    pollUntil(t.io, { label: 'vm-a', timeoutMs: 50, intervalMs: 5 }, async () => {
      throw new TransportError('cannot reach', 'http://x');
    }),
    /timed out after 0s waiting for vm-a \(last: server unreachable\)/,
  );
  assert.equal(t.err(), '');
});

test('any other error ends the wait at once', async () => {
  const t = io(false);
  await assert.rejects(
    pollUntil(t.io, { label: 'vm-a', timeoutMs: 5000 }, async () =>
      Promise.reject(new Error('boom')),
    ),
    /boom/,
  );
});
