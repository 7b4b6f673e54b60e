// The UI's feeds without a browser: how updates fold into what a page shows, and the watch streams a browser may hold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/resources/meta.ts';
import { applyUpdate, EMPTY_FEED, resetTo, WatchSlots } from '../../web/src/api/feed.ts';

const obj = (name: string, rv = '1'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', resourceVersion: rv },
});
const names = (s: typeof EMPTY_FEED): string[] => [...s.map.values()].map((o) => o.metadata.name);
const failure = { code: 0, reason: 'NetworkError', message: 'cannot reach the server', causes: [] };

describe('feed updates', () => {
  it('an error keeps what was known and whether a list ever arrived; the next event clears it', () => {
    let s = applyUpdate(EMPTY_FEED, { type: 'error', error: failure });
    assert.equal(s.loaded, false, 'an error before any list is not "none"');
    s = applyUpdate(s, { type: 'reset', items: [obj('a'), obj('b')], loaded: true });
    s = applyUpdate(s, { type: 'error', error: failure });
    assert.deepEqual(names(s), ['a', 'b']);
    assert.equal(s.loaded, true);
    assert.equal(s.error?.reason, 'NetworkError');
    s = applyUpdate(s, { type: 'event', event: { type: 'DELETED', object: obj('a') } });
    assert.deepEqual(names(s), ['b']);
    assert.equal(s.error, undefined);
  });

  it('a newcomer is brought to the same state, error included', () => {
    let s = applyUpdate(EMPTY_FEED, { type: 'reset', items: [obj('a')], loaded: true });
    s = applyUpdate(s, { type: 'event', event: { type: 'ADDED', object: obj('c') } });
    s = applyUpdate(s, { type: 'error', error: failure });
    const copy = applyUpdate(EMPTY_FEED, resetTo(s));
    assert.deepEqual(copy, s);
  });
});

describe('watch slots', () => {
  it('gives out at most its limit; a slot given back (once, however often) wakes one waiter', async () => {
    const slots = new WatchSlots(2);
    const a = slots.take();
    const b = slots.take();
    assert.ok(a && b);
    assert.equal(slots.take(), undefined);
    const abort = new AbortController();
    let woken = 0;
    const waiting = slots.wait(60_000, abort.signal).then(() => (woken += 1));
    a();
    a();
    await waiting;
    assert.equal(woken, 1);
    const c = slots.take();
    assert.ok(c, 'the slot given back is free again');
    assert.equal(slots.take(), undefined, 'giving back twice freed one slot, not two');
    abort.abort();
  });
});
