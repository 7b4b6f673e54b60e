// Over TLS `harrow serve` speaks HTTP/2 to clients that offer it (browsers: all of a tab's watches on one connection)
// and HTTP/1.1 to the rest on the same port: the console's WebSocket upgrade, the CLI, and a graceful stop with an
// HTTP/2 watch open.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bridgeNetwork, NS, runningVmi, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const VMS_PATH = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`;

/** One HTTP/2 session to the server, trusting its CA. */
function session(server: HarrowServer): Promise<ClientHttp2Session> {
  const ca = readFileSync(join(server.dataDir, 'pki', 'ca.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    const s = connect(server.url, { ca });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Opens a watch on the session; resolves with its status and a reader of the event lines. */
function watch(
  s: ClientHttp2Session,
  token: string,
): Promise<{ status: number; lines: string[]; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const stream = s.request({ ':path': `${VMS_PATH}?watch=1`, authorization: `Bearer ${token}` });
    const lines: string[] = [];
    let buffer = '';
    const ended = new Promise<void>((r) => stream.once('close', () => r()));
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buffer += d;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts.filter((p) => p !== ''));
    });
    stream.once('response', (h) => resolve({ status: Number(h[':status']), lines, ended }));
    stream.once('error', reject);
  });
}

describe('serve over TLS: HTTP/2 and HTTP/1.1 on one port', { timeout: 300_000 }, () => {
  let server: HarrowServer;

  before(async () => {
    server = await startServer({ args: ['--tls', 'auto'] });
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 72),
    );
  });
  after(() => server?.stop());

  it('many watches share one HTTP/2 connection, and a write on it is answered while they stay open', async () => {
    const s = await session(server);
    try {
      assert.equal(s.alpnProtocol, 'h2');
      const watches = await Promise.all(Array.from({ length: 20 }, () => watch(s, server.token)));
      for (const w of watches) assert.equal(w.status, 200);
      await server.client.create('VirtualMachine', { namespace: NS }, virtualMachine('h2-a'));
      await waitFor(() => watches.every((w) => w.lines.some((l) => l.includes('"h2-a"'))), {
        message: 'every watch on the one connection sees h2-a',
      });
    } finally {
      s.close();
    }
  });

  it('the console WebSocket (an HTTP/1.1 upgrade) and the CLI work on the same port', async () => {
    await waitFor(() => runningVmi(server.client, 'h2-a'), {
      timeoutMs: 60_000,
      message: 'h2-a running',
    });
    const socket = await server.client.openConsole(NS, 'h2-a');
    socket.close();
    const r = await server.cli(['get', 'vm', 'h2-a', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('a stop with an HTTP/2 watch open ends the watch and the server exits', async () => {
    const s = await session(server);
    const w = await watch(s, server.token);
    assert.equal(w.status, 200);
    const exit = await server.kill('SIGTERM');
    assert.equal(exit.code, 0, server.logs());
    await w.ended;
    s.destroy();
  });
});
