// The agent's own small API (the kubelet's role for exec): the control plane reaches the guests of this node through it
// for guest-exec and interfacelist; it accepts only the credential derived from this agent's own node token
// (tokens.ts agentApiCredential), which the control plane computes from the token's stored hash. JSON in and out.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../runtime/types.ts';

/** The Node annotation naming where a node's agent API listens. */
export const ANNOTATION_AGENT_URL = 'harrow.io/agent-url';
/** The Node annotation naming the id of the node token its agent runs with (an id, not a secret). */
export const ANNOTATION_AGENT_TOKEN_ID = 'harrow.io/agent-token-id';

export interface NodeApi {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startNodeApi(options: {
  runtime: Runtime;
  /** The credential the control plane presents (agentApiCredential of this agent's node token). */
  credential: string;
  host?: string;
  port?: number;
}): Promise<NodeApi> {
  const expected = Buffer.from(`Bearer ${options.credential}`, 'utf8');
  const authorized = (req: IncomingMessage): boolean => {
    const given = Buffer.from(req.headers.authorization ?? '', 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (!authorized(req)) return send(res, 401, { message: 'Unauthorized' });
      const url = new URL(req.url ?? '/', 'http://agent');
      if (req.method === 'GET' && url.pathname === '/observe') {
        const uid = url.searchParams.get('vmiUid') ?? '';
        const observation = await options.runtime.observe(uid);
        return observation
          ? send(res, 200, observation)
          : send(res, 404, { message: `no guest with vmi uid ${uid} on this node` });
      }
      if (req.method === 'POST' && url.pathname === '/exec') {
        const body = JSON.parse(await readBody(req)) as {
          vmiUid?: unknown;
          argv?: unknown;
          timeoutMs?: unknown;
        };
        if (typeof body.vmiUid !== 'string')
          return send(res, 400, { message: 'vmiUid: a string is required' });
        if (!Array.isArray(body.argv) || body.argv.some((a) => typeof a !== 'string'))
          return send(res, 400, { message: 'argv: an array of strings is required' });
        const result = await options.runtime.exec(
          body.vmiUid,
          body.argv as string[],
          typeof body.timeoutMs === 'number' ? { timeoutMs: body.timeoutMs } : {},
        );
        return send(res, 200, result);
      }
      return send(res, 404, { message: `no route ${req.method ?? ''} ${url.pathname}` });
    })().catch((e: unknown) =>
      send(res, 500, { message: e instanceof Error ? e.message : String(e) }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
