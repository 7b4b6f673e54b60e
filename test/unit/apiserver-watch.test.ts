// ?watch=1 over a real listening socket: initial ADDED, changes, selectors, resume, 410 Expired, timeouts and hang-ups.
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import type { WatchHandle } from '../../src/store/types.ts';
import { TOKEN, VMS, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

interface WatchLine {
  type: string;
  object: {
    metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
    code?: number;
    reason?: string;
  };
}

/** An open watch: lines as they arrive, and a way to wait for the n-th. */
interface OpenWatch {
  response: IncomingMessage;
  lines: WatchLine[];
  next(count: number): Promise<WatchLine[]>;
  ended: Promise<void>;
  close(): void;
}

let h: Harness | undefined;
let open: OpenWatch[] = [];
afterEach(async () => {
  for (const w of open) w.close();
  open = [];
  await h?.close();
  h = undefined;
});

async function listen(harness: Harness): Promise<string> {
  return harness.app.listen({ host: '127.0.0.1', port: 0 });
}

function watch(base: string, path: string): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { headers: { authorization: `Bearer ${TOKEN}` } },
      (response) => {
        const lines: WatchLine[] = [];
        let buffer = '';
        const waiters: Array<() => void> = [];
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let i: number;
          while ((i = buffer.indexOf('\n')) >= 0) {
            lines.push(JSON.parse(buffer.slice(0, i)) as WatchLine);
            buffer = buffer.slice(i + 1);
          }
          for (const w of waiters.splice(0)) w();
        });
        const ended = new Promise<void>((done) => response.on('close', () => done()));
        const w: OpenWatch = {
          response,
          lines,
          ended,
          next(count) {
            return new Promise((ok, fail) => {
              const timer = setTimeout(
                () => fail(new Error(`waited for ${count} events, got ${JSON.stringify(lines)}`)),
                3000,
              );
              const check = (): void => {
                if (lines.length >= count) {
                  clearTimeout(timer);
                  ok(lines.slice(0, count));
                } else waiters.push(check);
              };
              check();
            });
          },
          close: () => req.destroy(),
        };
        open.push(w);
        resolve(w);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const summary = (lines: WatchLine[]): string[] =>
  lines.map((l) => `${l.type} ${l.object.metadata?.name ?? l.object.reason}`);

/** Polls `ok` until it holds; fails naming `what` after 30 s (generous: the machine may be busy). */
async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!ok()) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('watch', () => {
  it('sends the current objects as ADDED, then every change, as newline-delimited JSON', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('a'));
    const base = await listen(h);
    const w = await watch(base, `${VMS}?watch=1`);
    assert.equal(w.response.statusCode, 200);
    assert.match(String(w.response.headers['content-type']), /^application\/json/);
    await w.next(1);
    await h.request('POST', VMS, vmManifest('b'));
    await h.request(
      'PATCH',
      `${VMS}/a`,
      { metadata: { labels: { x: '1' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await h.request('DELETE', `${VMS}/b`);
    assert.deepEqual(summary(await w.next(4)), ['ADDED a', 'ADDED b', 'MODIFIED a', 'DELETED b']);
    assert.equal(w.lines[2]?.object.metadata.labels?.x, '1');
  });

  it('with a label selector, objects entering the selection are ADDED and those leaving it DELETED', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('a'));
    await h.request('POST', VMS, {
      ...vmManifest('b'),
      metadata: { name: 'b', labels: { app: 'db' } },
    });
    const w = await watch(await listen(h), `${VMS}?watch=true&labelSelector=app%3Dweb`);
    await w.next(1);
    const merge = { 'content-type': 'application/merge-patch+json' };
    await h.request('PATCH', `${VMS}/b`, { metadata: { labels: { app: 'web' } } }, merge);
    await h.request('PATCH', `${VMS}/a`, { metadata: { labels: { app: 'db' } } }, merge);
    await h.request('PATCH', `${VMS}/a`, { metadata: { labels: { other: '1' } } }, merge);
    await h.request('PATCH', `${VMS}/b`, { metadata: { labels: { other: '1' } } }, merge);
    assert.deepEqual(summary(await w.next(4)), ['ADDED a', 'ADDED b', 'DELETED a', 'MODIFIED b']);
  });

  it('resumes after a resourceVersion without replaying the current state', async () => {
    h = await startServer();
    const created = await h.request('POST', VMS, vmManifest('a'));
    await h.request(
      'PATCH',
      `${VMS}/a`,
      { metadata: { labels: { v: '2' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    const w = await watch(
      await listen(h),
      `${VMS}?watch=1&resourceVersion=${created.json.metadata.resourceVersion}`,
    );
    const [first] = await w.next(1);
    assert.equal(first?.type, 'MODIFIED');
    assert.equal(first?.object.metadata.labels?.v, '2');
  });

  it('tells a compacted resourceVersion with an ERROR event holding a 410 Expired Status, and ends', async () => {
    h = await startServer();
    const created = await h.request('POST', VMS, vmManifest('a'));
    await h.request('POST', VMS, vmManifest('b'));
    await h.store.compact();
    const w = await watch(
      await listen(h),
      `${VMS}?watch=1&resourceVersion=${created.json.metadata.resourceVersion}`,
    );
    const [error] = await w.next(1);
    assert.equal(error?.type, 'ERROR');
    assert.equal(error?.object.code, 410);
    assert.equal(error?.object.reason, 'Expired');
    await w.ended;
  });

  it('speaks the watch-list protocol: initial ADDED events, then a BOOKMARK marking their end', async () => {
    h = await startServer();
    const created = await h.request('POST', VMS, vmManifest('a'));
    const r = await h.request(
      'GET',
      `${VMS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=${created.json.metadata.resourceVersion}&timeoutSeconds=1`,
    );
    const events = r.body
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            object: {
              metadata: {
                name?: string;
                resourceVersion: string;
                annotations?: Record<string, string>;
              };
            };
          },
      );
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'BOOKMARK'],
    );
    assert.equal(events[1]?.object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
    assert.ok(
      Number(events[1]?.object.metadata.resourceVersion) >=
        Number(created.json.metadata.resourceVersion),
    );
  });

  it('ends after timeoutSeconds (also through inject)', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('a'));
    const r = await h.request('GET', `${VMS}?watch=1&timeoutSeconds=1`);
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as WatchLine).type),
      ['ADDED'],
    );
  });

  it('stops the store watch when the client hangs up, and closing the server ends open watches', async () => {
    h = await startServer();
    const store = h.store;
    const realWatch = store.watch.bind(store);
    let active = 0;
    store.watch = (kind, options, listener): WatchHandle => {
      const handle = realWatch(kind, options, listener);
      active++;
      return {
        stop() {
          active--;
          handle.stop();
        },
      };
    };
    const base = await listen(h);
    const w1 = await watch(base, `${VMS}?watch=1`);
    const w2 = await watch(base, '/apis/kubevirt.io/v1/virtualmachines?watch=1');
    await until(() => active === 2, 'both store watches open');
    w1.close();
    await w1.ended;
    await until(() => active === 1, 'the hung-up client’s store watch stopped');
    assert.equal(active, 1);
    await h.app.close();
    await w2.ended;
    assert.equal(active, 0);
  });
});
