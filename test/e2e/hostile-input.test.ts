// Hostile input against a real server: every corpus entry gets a 4xx Status naming the problem, the server stays
// healthy after each batch, and nothing a client can see changes (resourceVersions and MAC holders).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { VirtualMachine } from '../../src/resources/types.ts';
import { hostileCorpus, type HostileInput } from './hostile-corpus.ts';
import { NS, bridgeNetwork, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

let server: HarrowServer;

before(async () => {
  server = await startServer();
});
after(() => server?.stop());

interface Answer {
  status: number;
  body: string;
}

/**
 * Sends the request byte for byte (no path normalisation). A body the server refuses by its length alone is answered
 * before it is read, so the body goes only after the headers had a moment to be answered (see mac-admission.test.ts).
 */
function send(input: HostileInput): Promise<Answer> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const body = input.body === undefined ? undefined : Buffer.from(input.body, 'utf8');
    const headers: Record<string, string | number> = { accept: 'application/json' };
    const authorization = input.authorization ?? `Bearer ${server.token}`;
    if (authorization !== '') headers.authorization = authorization;
    if (input.contentType !== undefined) headers['content-type'] = input.contentType;
    if (body) headers['content-length'] = body.length;
    let answered = false;
    const req = request(
      { host: url.hostname, port: url.port, method: input.method, path: input.path, headers },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (!body || body.length < 1024 * 1024) {
      req.end(body);
      return;
    }
    req.flushHeaders();
    setTimeout(() => {
      if (!answered) req.end(body);
    }, 500);
  });
}

interface StatusBody {
  kind?: unknown;
  code?: unknown;
  reason?: unknown;
  message?: unknown;
  details?: { causes?: Array<{ field?: string; message?: string }> };
}

/** What is wrong with the answer to `input`, or undefined when it is the refusal the corpus expects. */
function problemWith(input: HostileInput, answer: Answer): string | undefined {
  let status: StatusBody;
  try {
    status = JSON.parse(answer.body) as StatusBody;
  } catch {
    return `HTTP ${answer.status} with a body that is no JSON: ${answer.body.slice(0, 200)}`;
  }
  const brief = `HTTP ${answer.status}: ${answer.body.slice(0, 400)}`;
  if (answer.status < 400 || answer.status >= 500) return `not a 4xx — ${brief}`;
  if (status.kind !== 'Status') return `not a Status — ${brief}`;
  if (status.code !== answer.status)
    return `Status code ${String(status.code)} differs from HTTP ${answer.status}`;
  if (typeof status.reason !== 'string' || status.reason === '') return `no reason — ${brief}`;
  if (!input.codes.includes(answer.status)) return `expected ${input.codes.join('/')} — ${brief}`;
  const causes = status.details?.causes ?? [];
  const text = [
    String(status.message ?? ''),
    ...causes.map((c) => `${c.field ?? ''}: ${c.message ?? ''}`),
  ].join('\n');
  if (!input.mentions.test(text)) return `message does not match ${input.mentions} — ${brief}`;
  if (input.field !== undefined && !causes.some((c) => c.field === input.field))
    return `no cause names ${input.field} — ${brief}`;
  return undefined;
}

const SNAPSHOT_KINDS = [
  'Namespace',
  'NetworkAttachmentDefinition',
  'MacPool',
  'VirtualMachine',
  'VirtualMachineInstance',
  'Pod',
  'VirtualMachineClone',
];

/** Every object a hostile request could touch, by resourceVersion, and every MAC holder. Audit records and events are
 * left out: a refused write is audited by design. */
async function snapshot(): Promise<string> {
  const lines: string[] = [];
  for (const kind of SNAPSHOT_KINDS) {
    for (const o of await server.client.listAll(kind))
      lines.push(
        `${kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} rv=${o.metadata.resourceVersion}`,
      );
  }
  for (const a of await server.client.listAll('MacAllocation'))
    lines.push(
      `MacAllocation ${a.metadata.name} ${JSON.stringify((a as KubeObject).spec)} ${JSON.stringify((a as KubeObject).status)}`,
    );
  return lines.sort().join('\n');
}

async function healthy(): Promise<boolean> {
  const r = await fetch(`${server.url}/healthz`);
  return r.status === 200 && (await r.text()) === 'ok';
}

test('at least 200 hostile inputs each get a 4xx Status naming the problem; the server stays healthy and nothing changes', async () => {
  await server.client.create(
    'NetworkAttachmentDefinition',
    { namespace: NS },
    bridgeNetwork('lan', 60),
  );
  const vm = await server.client.create<VirtualMachine>(
    'VirtualMachine',
    { namespace: NS },
    virtualMachine('target', { runStrategy: 'Halted', mac: '02:48:52:aa:00:01' }),
  );
  await server.client.create(
    'VirtualMachine',
    { namespace: NS },
    virtualMachine('holder', { runStrategy: 'Halted', mac: '02:48:52:aa:00:02' }),
  );
  const masqueradeVm = virtualMachine('masq', { runStrategy: 'Halted' });
  masqueradeVm.spec.template!.spec!.domain.devices.interfaces = [
    { name: 'default', masquerade: {} },
  ];
  masqueradeVm.spec.template!.spec!.networks = [{ name: 'default', pod: {} }];
  await server.client.create('VirtualMachine', { namespace: NS }, masqueradeVm);

  // Controllers write status after a create: take the snapshot once two in a row agree.
  let settled = '';
  await waitFor(
    async () => {
      const now = await snapshot();
      const same = now === settled;
      settled = now;
      return same;
    },
    { message: 'objects settle', intervalMs: 500 },
  );

  const corpus = hostileCorpus({ namespace: NS, vm, masqueradeVm, takenMac: '02:48:52:aa:00:02' });
  assert.ok(corpus.length >= 200, `the corpus has ${corpus.length} inputs`);
  const failures: string[] = [];
  const BATCH = 25;
  for (let start = 0; start < corpus.length; start += BATCH) {
    for (const input of corpus.slice(start, start + BATCH)) {
      let answer: Answer;
      try {
        answer = await send(input);
      } catch (e) {
        failures.push(`${input.name}: ${(e as Error).message}`);
        continue;
      }
      const problem = problemWith(input, answer);
      if (problem) failures.push(`${input.name}: ${problem}`);
    }
    assert.ok(
      await healthy().catch(() => false),
      `/healthz after inputs ${start}–${start + BATCH - 1}; failures so far:\n${failures.join('\n')}\n--- server ---\n${server.logs().slice(-4000)}`,
    );
  }
  console.log(
    `hostile inputs tried: ${corpus.length}, refused as expected: ${corpus.length - failures.length}`,
  );
  assert.deepEqual(
    failures,
    [],
    `${failures.length} of ${corpus.length} inputs were not refused as expected`,
  );
  assert.equal(await snapshot(), settled, 'hostile input changed nothing');
});
