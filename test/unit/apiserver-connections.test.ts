// The connection a client holds, over a real socket: bodies over the limit still get their 413 Status, slow or
// unauthenticated clients are cut off within the bounds, and watches outlive the request timeout.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { request } from 'undici';
import { TOKEN, VMS, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

const run = promisify(execFile);

let h: Harness | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await h?.close();
  h = undefined;
});

/** A raw HTTP/1.1 client: what it has read, and when its socket closed. */
interface RawClient {
  socket: Socket;
  received(): string;
  closed: Promise<{ at: number; error?: string }>;
  /** Resolves when `predicate` holds for what was read, or rejects after `ms`. */
  until(predicate: (text: string) => boolean, ms: number): Promise<void>;
}

async function rawClient(base: string): Promise<RawClient> {
  const { port } = new URL(base);
  const socket = connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  const waiters: Array<() => void> = [];
  let error: string | undefined;
  socket.on('error', (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  const closed = once(socket, 'close').then(() => ({
    at: performance.now(),
    ...(error !== undefined ? { error } : {}),
  }));
  cleanups.push(() => void socket.destroy());
  return {
    socket,
    received: () => text,
    closed,
    until: (predicate, ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not seen within ${ms} ms: ${text}`)), ms);
        const check = (): void => {
          if (!predicate(text)) return void waiters.push(check);
          clearTimeout(timer);
          resolve();
        };
        check();
      }),
  };
}

/** Rejects when `p` has not settled within `ms` (a wait for a condition, with a deadline). */
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      t.unref();
    }),
  ]);

const postHead = (length: number, token?: string): string =>
  `POST ${VMS} HTTP/1.1\r\nHost: harrow\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

/** Sends `body` one byte a second until the socket closes. */
function dribble(client: RawClient, body: string): void {
  let i = 0;
  const timer = setInterval(() => {
    if (client.socket.destroyed || i >= body.length) return void clearInterval(timer);
    client.socket.write(body[i++]!);
  }, 1000);
  cleanups.push(() => clearInterval(timer));
}

/** A 5 MiB JSON body: well over the 3 MiB limit, sent at once. */
const bigBody = (): string =>
  JSON.stringify({ ...vmManifest('big'), padding: 'x'.repeat(5 * 1024 * 1024) });

describe('a body over the limit', () => {
  it('is answered 413 with the Status to a client that writes all of it before it reads', async () => {
    h = await startServer();
    const client = await rawClient(await h.app.listen({ host: '127.0.0.1', port: 0 }));
    const body = Buffer.from(bigBody());
    client.socket.write(postHead(body.length, TOKEN));
    const written = new Promise<void>((resolve, reject) =>
      client.socket.write(body, (e) => (e ? reject(e) : resolve())),
    );
    await within(written, 60_000, 'the whole body written');
    await client.until((t) => t.includes('"code":413'), 60_000);
    assert.match(client.received(), /^HTTP\/1\.1 413 /);
    assert.match(client.received(), /"reason":"RequestEntityTooLarge"/);
    // All of it was read, so the connection serves the next request.
    client.socket.write(
      `GET ${VMS} HTTP/1.1\r\nHost: harrow\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
    );
    await client.until((t) => t.includes('"kind":"VirtualMachineList"'), 30_000);
  });

  it('is answered 413 with the Status to undici, after the server read and discarded it', async () => {
    h = await startServer();
    const base = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const r = await request(`${base}${VMS}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: bigBody(),
    });
    const status = (await r.body.json()) as { kind: string; reason: string; code: number };
    assert.equal(r.statusCode, 413);
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'RequestEntityTooLarge');
    assert.equal(status.code, 413);
  });

  it('is answered 413 with the Status to curl', async () => {
    h = await startServer();
    const base = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'harrow-413-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'body.json');
    await writeFile(file, bigBody());
    const { stdout } = await run(
      'curl',
      [
        '-sS',
        '-X',
        'POST',
        '-H',
        `Authorization: Bearer ${TOKEN}`,
        '-H',
        'Content-Type: application/json',
        '--data-binary',
        `@${file}`,
        '-w',
        '\n%{http_code}',
        `${base}${VMS}`,
      ],
      { maxBuffer: 1024 * 1024 },
    );
    const [body, code] = [
      stdout.slice(0, stdout.lastIndexOf('\n')),
      stdout.slice(stdout.lastIndexOf('\n') + 1),
    ];
    assert.equal(code, '413');
    assert.equal((JSON.parse(body) as { reason: string }).reason, 'RequestEntityTooLarge');
  });
});

describe('request time', () => {
  it('cuts off an authenticated client whose body comes a byte a second within the bound', async () => {
    h = await startServer({ limits: { requestTimeoutSeconds: 2 } });
    const client = await rawClient(await h.app.listen({ host: '127.0.0.1', port: 0 }));
    const body = JSON.stringify(vmManifest('slow'));
    const start = performance.now();
    client.socket.write(postHead(body.length, TOKEN));
    dribble(client, body);
    const { at } = await within(client.closed, 30_000, 'the slow client cut off');
    // The bound is 2 s; Node checks it every 200 ms here. The slack is for a busy machine.
    assert.ok(at - start < 20_000, `cut off after ${Math.round(at - start)} ms`);
    // Node's receive bound (408) or the request bound (504 Timeout Status), whichever checks first.
    assert.match(client.received(), /^HTTP\/1\.1 (408|504) /);
    assert.equal((await h.store.list('VirtualMachine')).items.length, 0);
  });

  it('closes the socket of an unauthenticated client after its 401, while it is still dribbling its body', async () => {
    h = await startServer();
    const client = await rawClient(await h.app.listen({ host: '127.0.0.1', port: 0 }));
    const body = JSON.stringify(vmManifest('slow'));
    client.socket.write(postHead(body.length));
    dribble(client, body);
    await within(client.closed, 20_000, 'the unauthenticated client cut off');
    assert.match(client.received(), /^HTTP\/1\.1 401 /);
    assert.match(client.received(), /\r\nconnection: close\r\n/i);
  });

  it('answers a handler that takes longer than the bound with 504 Timeout', async () => {
    h = await startServer({
      limits: { requestTimeoutSeconds: 1 },
      plugins: [
        async (app) => {
          app.get('/slow', () => new Promise(() => {}));
        },
      ],
    });
    const r = await within(
      request(`${await h.app.listen({ host: '127.0.0.1', port: 0 })}/slow`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
      30_000,
      'the slow handler answered',
    );
    assert.equal(r.statusCode, 504);
    assert.equal(((await r.body.json()) as { reason: string }).reason, 'Timeout');
  });

  it('leaves a long-running route (guest-exec) to its own bound', async () => {
    let release = (): void => {};
    h = await startServer({
      limits: { requestTimeoutSeconds: 1 },
      plugins: [
        async (app) => {
          app.get('/exec-like', { config: { longRunning: true } }, async () => {
            await new Promise<void>((resolve) => (release = resolve));
            return { done: true };
          });
        },
      ],
    });
    const base = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const answer = request(`${base}/exec-like`, { headers: { authorization: `Bearer ${TOKEN}` } });
    // Past the bound (a slow client opened later has been cut off), the route is still working; then it answers.
    const slow = await rawClient(base);
    slow.socket.write(postHead(100, TOKEN));
    dribble(slow, 'x'.repeat(100));
    await within(slow.closed, 30_000, 'the slow client cut off');
    release();
    const r = await within(answer, 30_000, 'the long-running route answered');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(await r.body.json(), { done: true });
  });

  it('leaves a watch open past the request bound: it still delivers', async () => {
    h = await startServer({ limits: { requestTimeoutSeconds: 1 } });
    const base = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const watcher = await rawClient(base);
    watcher.socket.write(
      `GET ${VMS}?watch=1 HTTP/1.1\r\nHost: harrow\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
    );
    await watcher.until((t) => t.startsWith('HTTP/1.1 200'), 30_000);
    // A slow client opened after the watch is cut off: the bound has passed for the watch too.
    const slow = await rawClient(base);
    slow.socket.write(postHead(100, TOKEN));
    dribble(slow, 'x'.repeat(100));
    await within(slow.closed, 30_000, 'the slow client cut off');
    assert.equal((await h.request('POST', VMS, vmManifest('after'))).status, 201);
    await watcher.until((t) => t.includes('"name":"after"'), 30_000);
    assert.equal(watcher.socket.destroyed, false);
  });
});
