// Authorization matrix against a real server: role × namespace × verb × resource, every cell checked against a table written here.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/resources/meta.ts';
import { CONSOLE_SUBPROTOCOL, type VirtualMachine } from '../../src/resources/types.ts';
import { WebSocket } from 'ws';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { conditionOf, virtualMachine } from './fixtures.ts';

// ---- the expectation, written from the role definition (README "Users and roles"), not from src/ ----

type Role = 'admin' | 'operator' | 'viewer' | 'node';
const ROLES: Role[] = ['admin', 'operator', 'viewer', 'node'];
/** The node role's node: a Node that runs none of the matrix's objects (the guests run on the server's own node). */
const NODE = 'matrix-node';
/** Where a cell acts: a namespace, every namespace at once (a cluster-wide list), or the cluster scope. */
type Scope = 'a' | 'b' | '*' | 'cluster';
const GRANTED = new Set(['a']);

interface KindSpec {
  kind: string;
  path: string; // group/version prefix
  plural: string;
  namespaced: boolean;
  /** Verbs the kind serves at all (others are 405 for everyone). */
  served: string[];
}
const RW = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const RO = ['get', 'list', 'watch'];
const KINDS: KindSpec[] = [
  {
    kind: 'VirtualMachine',
    path: '/apis/kubevirt.io/v1',
    plural: 'virtualmachines',
    namespaced: true,
    served: RW,
  },
  {
    kind: 'VirtualMachineInstance',
    path: '/apis/kubevirt.io/v1',
    plural: 'virtualmachineinstances',
    namespaced: true,
    served: RW,
  },
  {
    kind: 'VirtualMachineClone',
    path: '/apis/clone.kubevirt.io/v1beta1',
    plural: 'virtualmachineclones',
    namespaced: true,
    served: RW,
  },
  {
    kind: 'NetworkAttachmentDefinition',
    path: '/apis/k8s.cni.cncf.io/v1',
    plural: 'network-attachment-definitions',
    namespaced: true,
    served: RW,
  },
  { kind: 'Pod', path: '/api/v1', plural: 'pods', namespaced: true, served: RW },
  { kind: 'Event', path: '/api/v1', plural: 'events', namespaced: true, served: RW },
  // Append-only: node agents' controllers create records (admins only); nobody changes or removes one.
  {
    kind: 'AuditRecord',
    path: '/apis/harrow.io/v1',
    plural: 'auditrecords',
    namespaced: true,
    served: [...RO, 'create'],
  },
  {
    kind: 'MacAllocation',
    path: '/apis/harrow.io/v1',
    plural: 'macallocations',
    namespaced: false,
    served: RO,
  },
  {
    kind: 'MacPool',
    path: '/apis/harrow.io/v1',
    plural: 'macpools',
    namespaced: false,
    served: RW,
  },
  {
    kind: 'Namespace',
    path: '/api/v1',
    plural: 'namespaces',
    namespaced: false,
    served: RW.filter((v) => v !== 'deletecollection'),
  },
  { kind: 'Node', path: '/api/v1', plural: 'nodes', namespaced: false, served: RW },
  {
    kind: 'ApiToken',
    path: '/apis/harrow.io/v1',
    plural: 'apitokens',
    namespaced: false,
    served: RW,
  },
];
const READS = new Set(['get', 'list', 'watch']);
const OPERATOR_WRITES = new Set([
  'VirtualMachine',
  'VirtualMachineInstance',
  'VirtualMachineClone',
]);

type Outcome = 'allow' | 'deny' | 'unserved' | 'hidden';

/** The table: what `role` may do with `verb` on `kind` in `scope` (for MacAllocation/Namespace, the namespace it belongs to). */
function expected(role: Role, kind: KindSpec, verb: string, scope: Scope): Outcome {
  const subresource = !RW.includes(verb);
  if (!subresource && !kind.served.includes(verb)) return 'unserved';
  if (role === 'admin') return 'allow';
  if (role === 'node') return expectedOfNode(kind.kind, verb);
  if (kind.kind === 'ApiToken') return 'deny';
  if (!kind.namespaced) {
    if (!READS.has(verb)) return 'deny';
    // A MacAllocation of another namespace is not there for this user; a Namespace of another is forbidden by name.
    if (kind.kind === 'MacAllocation' && verb === 'get')
      return GRANTED.has(scope) ? 'allow' : 'hidden';
    if (kind.kind === 'Namespace' && verb === 'get') return GRANTED.has(scope) ? 'allow' : 'deny';
    return 'allow';
  }
  if (!GRANTED.has(scope)) return 'deny';
  if (READS.has(verb)) return 'allow';
  if (verb === 'interfacelist') return 'allow';
  // pods/log is the guest's serial log: as private as the console.
  if (kind.kind === 'Pod' && verb === 'log') return role === 'operator' ? 'allow' : 'deny';
  return role === 'operator' && OPERATOR_WRITES.has(kind.kind) ? 'allow' : 'deny';
}

/**
 * The node role (README "Users and roles"): every Node and NAD read; pods and VMIs read only where scheduled to the
 * node (none here: listed empty, absent by name); VMs and events only its own (absent by name); a MacAllocation by name.
 * It writes only its own Node and what runs on it, so every write here is refused — by the role's verbs, or (for the kinds
 * a node writes on its own node) by node restriction.
 */
function expectedOfNode(kind: string, verb: string): Outcome {
  if (!READS.has(verb)) return 'deny';
  if (kind === 'Node' || kind === 'NetworkAttachmentDefinition') return 'allow';
  if (kind === 'MacAllocation') return verb === 'get' ? 'allow' : 'deny';
  if (kind === 'Pod' || kind === 'VirtualMachineInstance')
    return verb === 'get' ? 'hidden' : 'allow';
  if (kind === 'VirtualMachine' || kind === 'Event') return verb === 'get' ? 'hidden' : 'deny';
  return 'deny';
}

// ---- manifests ----

const mac = (i: number): string => `02:7a:00:00:00:${i.toString(16).padStart(2, '0')}`;
let poolCounter = 0;

function manifest(kind: string, name: string, namespace: string | undefined): KubeObject {
  const meta = { name, ...(namespace ? { namespace } : {}), labels: { matrix: 'yes' } };
  switch (kind) {
    case 'VirtualMachine': {
      const vm = virtualMachine(name, { runStrategy: 'Halted' });
      vm.metadata = { ...vm.metadata, ...meta };
      return vm;
    }
    case 'VirtualMachineInstance':
      return {
        apiVersion: 'kubevirt.io/v1',
        kind,
        metadata: meta,
        spec: { domain: { devices: {} } },
      };
    case 'VirtualMachineClone':
      return {
        apiVersion: 'clone.kubevirt.io/v1beta1',
        kind,
        metadata: meta,
        spec: {
          source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'src' },
          target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: `${name}-t` },
        },
      };
    case 'NetworkAttachmentDefinition':
      return {
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind,
        metadata: meta,
        spec: { config: JSON.stringify({ cniVersion: '0.3.1', type: 'bridge' }) },
      };
    case 'Pod':
      return {
        apiVersion: 'v1',
        kind,
        metadata: meta,
        spec: { containers: [{ name: 'c', image: 'none' }] },
      };
    case 'Event':
      return {
        apiVersion: 'v1',
        kind,
        metadata: meta,
        involvedObject: { kind: 'Pod', namespace, name: 'x' },
        reason: 'Matrix',
        message: 'm',
        type: 'Normal',
      };
    case 'MacPool': {
      const n = ++poolCounter;
      return {
        apiVersion: 'harrow.io/v1',
        kind,
        metadata: meta,
        spec: {
          ranges: [
            {
              start: `02:7b:00:00:${n.toString(16).padStart(2, '0')}:00`,
              end: `02:7b:00:00:${n.toString(16).padStart(2, '0')}:ff`,
            },
          ],
        },
      };
    }
    case 'Namespace':
      return { apiVersion: 'v1', kind, metadata: meta };
    case 'Node':
      return { apiVersion: 'v1', kind, metadata: meta };
    case 'ApiToken': {
      const id = createHash('sha256').update(name).digest('hex').slice(0, 12);
      return {
        apiVersion: 'harrow.io/v1',
        kind,
        metadata: { ...meta, name: id },
        spec: { user: 'matrix', role: 'viewer', namespaces: ['a'], tokenHash: 'ab'.repeat(32) },
      };
    }
    case 'AuditRecord':
      return {
        apiVersion: 'harrow.io/v1',
        kind,
        metadata: meta,
        spec: {
          timestamp: new Date().toISOString(),
          user: 'system:matrix',
          verb: 'matrix',
          resource: { kind: 'VirtualMachine', namespace: meta.namespace, name: 'x' },
          outcome: { code: 200, status: 'Success' },
        },
      };
    default:
      // Read-only kinds (MacAllocation): the body does not matter, the write is refused before it is read.
      return { apiVersion: 'harrow.io/v1', kind, metadata: meta, spec: {} };
  }
}

// ---- HTTP ----

interface Answer {
  status: number;
  body: { reason?: string; message?: string; items?: KubeObject[]; kind?: string };
}

/** A WebSocket upgrade (the console): 101 once open (then closed again), else the refusal's status and Status. */
function upgrade(role: Role, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.url.replace(/^http/, 'ws') + path, [CONSOLE_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${tokens[role]}` },
    });
    socket.once('open', () => {
      socket.close();
      resolve({ status: 101, body: {} });
    });
    socket.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] }),
      );
    });
    socket.once('error', reject);
  });
}

let server: HarrowServer;
const tokens: Record<Role, string> = { admin: '', operator: '', viewer: '', node: '' };

async function call(
  role: Role | string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Answer> {
  const token = role in tokens ? tokens[role as Role] : role;
  const controller = new AbortController();
  const r = await fetch(server.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: controller.signal,
  });
  if (path.includes('watch=1') && r.status === 200) {
    controller.abort();
    return { status: 200, body: {} };
  }
  const text = await r.text();
  let parsed: Answer['body'];
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Answer['body']);
  } catch {
    parsed = {};
  }
  return { status: r.status, body: parsed };
}

const admin = (
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<Answer> => call('admin', method, path, body, contentType);

function collection(k: KindSpec, scope: Scope): string {
  if (!k.namespaced) return `${k.path}/${k.plural}`;
  return scope === '*' ? `${k.path}/${k.plural}` : `${k.path}/namespaces/${scope}/${k.plural}`;
}

async function mustCreate(k: KindSpec, scope: Scope, o: KubeObject): Promise<string> {
  const r = await admin('POST', collection(k, scope), o);
  assert.equal(
    r.status,
    201,
    `setup: create ${k.kind} ${o.metadata.name} in ${scope}: ${JSON.stringify(r.body)}`,
  );
  return (r.body as KubeObject).metadata.name;
}

/** Names an object for a cell: unique per role, verb and scope (MacPool/Node/Namespace/ApiToken share the cluster). */
const cellName = (role: Role, verb: string, scope: Scope): string =>
  `m-${role}-${verb}-${scope === 'cluster' ? 'c' : scope}`;

// ---- the matrix ----

interface Cell {
  role: Role;
  kind: KindSpec;
  verb: string;
  scope: Scope;
  outcome: Outcome;
  answer: Answer;
}
const cells: Cell[] = [];
/** MacAllocation names held by a VM of each namespace, and the guests (running VMs) of a and b. */
const held: Record<'a' | 'b', string> = { a: '', b: '' };

async function runCell(
  role: Role,
  k: KindSpec,
  verb: string,
  scope: Scope,
  target: () => Promise<string | undefined>,
): Promise<void> {
  const outcome = expected(role, k, verb, scope);
  const base = collection(k, scope);
  let answer: Answer;
  switch (verb) {
    case 'list':
      answer = await call(role, 'GET', base);
      break;
    case 'watch':
      answer = await call(role, 'GET', `${base}?watch=1&timeoutSeconds=1`);
      break;
    case 'deletecollection':
      answer = await call(role, 'DELETE', `${base}?labelSelector=matrix%3Dnever`);
      break;
    case 'create': {
      const ns = k.namespaced ? scope : undefined;
      answer = await call(role, 'POST', base, manifest(k.kind, cellName(role, verb, scope), ns));
      break;
    }
    default: {
      const name = (await target()) ?? 'absent';
      const item = `${base}/${name}`;
      // The VMI controller removes VMIs that no VM owns: the VMI writes act on the running guest's, without storing.
      const dry = k.kind === 'VirtualMachineInstance' ? '?dryRun=All' : '';
      if (verb === 'get') answer = await call(role, 'GET', item);
      else if (verb === 'delete') answer = await call(role, 'DELETE', item + dry);
      else if (verb === 'patch')
        answer = await call(
          role,
          'PATCH',
          item + dry,
          { metadata: { labels: { patched: role } } },
          'application/merge-patch+json',
        );
      else {
        // A controller's status write can land between the read and the replace (409): a client then re-reads and retries.
        for (let attempt = 1; ; attempt++) {
          const current = (await admin('GET', item)).body as KubeObject;
          if (current.metadata) delete current.metadata.resourceVersion;
          const body = current.metadata
            ? {
                ...current,
                metadata: {
                  ...current.metadata,
                  labels: { ...current.metadata.labels, updated: role },
                },
              }
            : manifest(k.kind, name, k.namespaced ? scope : undefined);
          answer = await call(role, 'PUT', item + dry, body);
          if (answer.status !== 409 || attempt === 5) break;
        }
      }
    }
  }
  cells.push({ role, kind: k, verb, scope, outcome, answer });
}

/** The object an update/patch/delete/get cell acts on, made by the admin beforehand so that an allowed cell succeeds. */
async function targetFor(
  role: Role,
  k: KindSpec,
  verb: string,
  scope: Scope,
): Promise<string | undefined> {
  if (k.kind === 'MacAllocation') return held[scope as 'a' | 'b'];
  if (k.kind === 'AuditRecord') {
    const r = await admin('GET', collection(k, scope));
    return r.body.items?.[0]?.metadata.name;
  }
  if (k.kind === 'Namespace' && verb === 'get') return scope;
  if (k.kind === 'VirtualMachineInstance') return 'guest';
  if (verb === 'get') {
    if (k.kind === 'VirtualMachine') return 'guest';
    return mustCreate(
      k,
      scope === 'cluster' ? 'cluster' : scope,
      manifest(k.kind, cellName(role, 'get', scope), k.namespaced ? scope : undefined),
    );
  }
  return mustCreate(
    k,
    scope,
    manifest(k.kind, cellName(role, verb, scope), k.namespaced ? scope : undefined),
  );
}

function describeCell(c: Cell): string {
  return `${c.role} ${c.verb} ${c.kind.kind} in ${c.scope} (expected ${c.outcome}): ${c.answer.status} ${JSON.stringify(c.answer.body).slice(0, 300)}`;
}

describe('authorization matrix: role × namespace × verb × resource', { timeout: 240_000 }, () => {
  before(async () => {
    server = await startServer();
    tokens.admin = server.token;
    for (const ns of ['a', 'b']) {
      assert.equal(
        (
          await admin('POST', '/api/v1/namespaces', {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: ns },
          })
        ).status,
        201,
      );
      const nad = manifest('NetworkAttachmentDefinition', 'lan', ns);
      assert.equal(
        (
          await admin(
            'POST',
            `/apis/k8s.cni.cncf.io/v1/namespaces/${ns}/network-attachment-definitions`,
            nad,
          )
        ).status,
        201,
      );
      for (const [name, strategy, i] of [
        ['guest', 'Always', ns === 'a' ? 1 : 2],
        ['src', 'Halted', ns === 'a' ? 3 : 4],
      ] as const) {
        const vm = virtualMachine(name, { runStrategy: strategy, mac: mac(i) });
        vm.metadata.namespace = ns;
        assert.equal(
          (await admin('POST', `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`, vm)).status,
          201,
        );
      }
      held[ns as 'a' | 'b'] = mac(ns === 'a' ? 1 : 2).replaceAll(':', '-');
    }
    // Tokens through the CLI, as a user would make them.
    for (const role of ['operator', 'viewer'] as const) {
      const r = await server.cli([
        'token',
        'create',
        '--user',
        `${role}-user`,
        '--role',
        role,
        '--namespaces',
        'a',
      ]);
      assert.equal(r.code, 0, r.stderr);
      tokens[role] = r.stdout.trim();
      assert.match(tokens[role], /^harrow_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    }
    const node = await server.cli(['token', 'create', '--node', NODE]);
    assert.equal(node.code, 0, node.stderr);
    tokens.node = node.stdout.trim();
    for (const ns of ['a', 'b']) {
      await waitFor(
        async () => {
          const vmi = (
            await admin(
              'GET',
              `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/guest`,
            )
          ).body as KubeObject;
          return conditionOf(vmi, 'AgentConnected')?.status === 'True';
        },
        { timeoutMs: 60_000, message: `guest in ${ns} running with its agent` },
      );
    }

    for (const role of ROLES) {
      for (const k of KINDS) {
        const scopes: Scope[] = k.namespaced
          ? ['a', 'b', '*']
          : k.kind === 'MacAllocation' || k.kind === 'Namespace'
            ? ['a', 'b']
            : ['cluster'];
        for (const scope of scopes) {
          const verbs = scope === '*' ? ['list', 'watch'] : RW;
          for (const verb of verbs)
            await runCell(role, k, verb, scope, () => targetFor(role, k, verb, scope));
        }
        if (k.kind === 'VirtualMachine') {
          for (const scope of ['a', 'b'] as const) {
            for (const verb of ['start', 'stop', 'restart']) {
              const answer = await call(
                role,
                'PUT',
                `/apis/subresources.kubevirt.io/v1/namespaces/${scope}/virtualmachines/guest/${verb}?dryRun=All`,
                {},
              );
              cells.push({
                role,
                kind: k,
                verb,
                scope,
                outcome: expected(role, k, verb, scope),
                answer,
              });
            }
          }
        }
        if (k.kind === 'VirtualMachineInstance') {
          for (const scope of ['a', 'b'] as const) {
            const list = await call(
              role,
              'GET',
              `/apis/subresources.kubevirt.io/v1/namespaces/${scope}/virtualmachineinstances/guest/interfacelist`,
            );
            cells.push({
              role,
              kind: k,
              verb: 'interfacelist',
              scope,
              outcome: expected(role, k, 'interfacelist', scope),
              answer: list,
            });
            const exec = await call(
              role,
              'POST',
              `/apis/subresources.harrow.io/v1/namespaces/${scope}/virtualmachineinstances/guest/guest-exec`,
              { command: ['true'] },
            );
            cells.push({
              role,
              kind: k,
              verb: 'guest-exec',
              scope,
              outcome: expected(role, k, 'guest-exec', scope),
              answer: exec,
            });
            const console = await upgrade(
              role,
              `/apis/subresources.kubevirt.io/v1/namespaces/${scope}/virtualmachineinstances/guest/console`,
            );
            cells.push({
              role,
              kind: k,
              verb: 'console',
              scope,
              outcome: expected(role, k, 'console', scope),
              answer: console,
            });
          }
        }
        if (k.kind === 'Pod') {
          for (const scope of ['a', 'b'] as const) {
            const pods = await admin(
              'GET',
              `/api/v1/namespaces/${scope}/pods?labelSelector=vm.kubevirt.io%2Fname%3Dguest`,
            );
            const launcher = pods.body.items?.[0]?.metadata.name ?? 'none';
            const log = await call(
              role,
              'GET',
              `/api/v1/namespaces/${scope}/pods/${launcher}/log?container=guest-console-log`,
            );
            cells.push({
              role,
              kind: k,
              verb: 'log',
              scope,
              outcome: expected(role, k, 'log', scope),
              answer: log,
            });
          }
        }
      }
    }
  });
  after(() => server?.stop());

  it('every cell answers as the table says', () => {
    const wrong: string[] = [];
    for (const c of cells) {
      const { status, body } = c.answer;
      const action = ['start', 'stop', 'restart'].includes(c.verb);
      const ok =
        c.outcome === 'allow'
          ? (status >= 200 && status < 300) ||
            (c.verb === 'console' && status === 101) ||
            (action && status === 409 && body.reason === 'Conflict')
          : c.outcome === 'unserved'
            ? status === 405
            : c.outcome === 'hidden'
              ? status === 404
              : status === 403 && body.reason === 'Forbidden';
      if (!ok) wrong.push(describeCell(c));
    }
    const counts = ROLES.map((r) => `${r}: ${cells.filter((c) => c.role === r).length}`).join(', ');
    assert.deepEqual(wrong, [], `${wrong.length} of ${cells.length} cells differ (${counts})`);
    assert.ok(cells.length >= 500, `cells checked: ${cells.length}`);
    console.log(
      `authz matrix: ${cells.length} cells checked (${counts}); ${cells.filter((c) => c.outcome === 'deny').length} forbidden`,
    );
  });

  it('a refusal is a Kubernetes Status naming the user, the verb, the resource and the namespace', () => {
    const denied = cells.filter((c) => c.outcome === 'deny');
    assert.ok(denied.length > 100);
    for (const c of denied) {
      const m = c.answer.body.message ?? '';
      const user =
        c.role === 'node'
          ? `system:node:${NODE}`
          : c.role === 'operator'
            ? 'operator-user'
            : 'viewer-user';
      assert.equal(c.answer.body.kind, 'Status', describeCell(c));
      // Node restriction judges the write, which a patch is too.
      const verbs = c.role === 'node' && c.verb === 'patch' ? ['patch', 'update'] : [c.verb];
      assert.ok(m.includes(`User "${user}"`) && verbs.some((v) => m.includes(v)), describeCell(c));
      const resource = RW.includes(c.verb) ? c.kind.plural : c.kind.plural.replace(/s$/, '');
      assert.ok(
        m.toLowerCase().includes(resource.slice(0, 14)),
        `names the resource: ${describeCell(c)}`,
      );
      if (c.kind.namespaced && c.scope !== '*')
        assert.ok(m.includes(`"${c.scope}"`), `names the namespace: ${describeCell(c)}`);
    }
  });

  it('non-admins see only MAC allocations and namespaces they are granted, in lists and in watches', async () => {
    for (const role of ['operator', 'viewer'] as const) {
      const macs = await call(role, 'GET', '/apis/harrow.io/v1/macallocations');
      const owners = new Set(
        (macs.body.items ?? []).map(
          (o) => (o.spec as { owner: { namespace: string } }).owner.namespace,
        ),
      );
      assert.deepEqual([...owners], ['a'], `${role} sees allocations of: ${[...owners].join(',')}`);
      const namespaces = await call(role, 'GET', '/api/v1/namespaces');
      assert.deepEqual(
        (namespaces.body.items ?? []).map((o) => o.metadata.name),
        ['a'],
      );
    }
    const all = await admin('GET', '/apis/harrow.io/v1/macallocations');
    assert.ok(
      (all.body.items ?? []).some(
        (o) => (o.spec as { owner: { namespace: string } }).owner.namespace === 'b',
      ),
      'the admin sees b too',
    );

    const r = await fetch(
      `${server.url}/apis/harrow.io/v1/macallocations?watch=1&timeoutSeconds=2`,
      { headers: { authorization: `Bearer ${tokens.viewer}` } },
    );
    const text = await r.text();
    const events = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { object: { spec: { owner: { namespace: string } } } });
    assert.ok(events.length >= 1);
    assert.deepEqual([...new Set(events.map((e) => e.object.spec.owner.namespace))], ['a']);
  });

  it('a viewer of a is not told which VM of b holds a MAC; the admin is', async () => {
    const taken = mac(2); // held by b/guest
    const vm = virtualMachine('thief', { runStrategy: 'Halted', mac: taken });
    vm.metadata.namespace = 'a';
    const asOperator = await call(
      'operator',
      'POST',
      '/apis/kubevirt.io/v1/namespaces/a/virtualmachines',
      vm,
    );
    assert.equal(asOperator.status, 409, JSON.stringify(asOperator.body));
    assert.match(asOperator.body.message ?? '', /in use by another VM/);
    assert.doesNotMatch(JSON.stringify(asOperator.body), /b\/guest|"b"/);
    const asAdmin = await admin('POST', '/apis/kubevirt.io/v1/namespaces/a/virtualmachines', vm);
    assert.equal(asAdmin.status, 409);
    assert.match(asAdmin.body.message ?? '', /in use by b\/guest/);
    // The operator's own namespace's holder is named.
    const mine = virtualMachine('thief2', { runStrategy: 'Halted', mac: mac(1) });
    mine.metadata.namespace = 'a';
    const own = await call(
      'operator',
      'POST',
      '/apis/kubevirt.io/v1/namespaces/a/virtualmachines',
      mine,
    );
    assert.equal(own.status, 409);
    assert.match(own.body.message ?? '', /in use by a\/guest/);
  });

  it('a workload attaches only to networks of its own namespace and of the global ones (Multus namespaceIsolation)', async () => {
    const shared = manifest('NetworkAttachmentDefinition', 'shared', 'default');
    const made = await admin(
      'POST',
      '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions',
      shared,
    );
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const vmOn = (name: string, network: string): VirtualMachine => {
      const vm = virtualMachine(name, { runStrategy: 'Halted', network });
      vm.metadata.namespace = 'a';
      return vm;
    };
    const vms = '/apis/kubevirt.io/v1/namespaces/a/virtualmachines';
    const causesOf = (a: Answer): Array<{ field?: string; message?: string }> =>
      (a.body as { details?: { causes?: Array<{ field?: string; message?: string }> } }).details
        ?.causes ?? [];
    // Another tenant's network: refused at admission for the operator of a, and for the admin too (as Multus does,
    // the rule is about the workload's namespace, not the user).
    for (const role of ['operator', 'admin'] as const) {
      const r = await call(role, 'POST', vms, vmOn(`iso-${role}`, 'b/lan'));
      assert.equal(r.status, 422, `${role}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.reason, 'Invalid');
      const cause = causesOf(r).find(
        (c) => c.field === 'spec.template.spec.networks[0].multus.networkName',
      );
      assert.ok(cause, JSON.stringify(r.body));
      assert.match(cause.message ?? '', /namespace "b"/);
    }
    // A bare VMI is held to the same rule, at its own field path.
    const vmi = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'iso-vmi', namespace: 'a' },
      spec: vmOn('iso-vmi', 'b/lan').spec.template.spec,
    };
    const bare = await call(
      'operator',
      'POST',
      '/apis/kubevirt.io/v1/namespaces/a/virtualmachineinstances',
      vmi,
    );
    assert.equal(bare.status, 422, JSON.stringify(bare.body));
    assert.ok(causesOf(bare).some((c) => c.field === 'spec.networks[0].multus.networkName'));
    // An update that moves a VM onto another tenant's network is refused too.
    const own = await call('operator', 'POST', vms, vmOn('iso-own', 'a/lan'));
    assert.equal(own.status, 201, JSON.stringify(own.body));
    const moved = await call(
      'operator',
      'PATCH',
      `${vms}/iso-own`,
      [
        {
          op: 'replace',
          path: '/spec/template/spec/networks/0/multus/networkName',
          value: 'b/lan',
        },
      ],
      'application/json-patch+json',
    );
    assert.equal(moved.status, 422, JSON.stringify(moved.body));
    // Its own namespace's networks and the global namespace's (default) are fine.
    for (const [name, network] of [
      ['iso-bare', 'lan'],
      ['iso-global', 'default/shared'],
    ] as const) {
      const r = await call('operator', 'POST', vms, vmOn(name, network));
      assert.equal(r.status, 201, `${network}: ${JSON.stringify(r.body)}`);
    }
    for (const name of ['iso-own', 'iso-bare', 'iso-global'])
      assert.equal((await admin('DELETE', `${vms}/${name}`)).status, 200);
    assert.equal(
      (
        await admin(
          'DELETE',
          '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions/shared',
        )
      ).status,
      200,
    );
  });

  it('tokens are stored only as hashes, listed without secrets, and a revoked token is refused at once (401) and its watch ends', async () => {
    const listed = await server.cli(['token', 'list', '-o', 'json']);
    assert.equal(listed.code, 0, listed.stderr);
    for (const t of Object.values(tokens)) {
      assert.ok(!listed.stdout.includes(t), 'list shows no token');
      for (const f of readdirSync(server.dataDir, { recursive: true, withFileTypes: true }).filter(
        (e) => e.isFile(),
      )) {
        const path = `${f.parentPath}/${f.name}`;
        const holds = readFileSync(path).includes(Buffer.from(t.slice(20)));
        assert.equal(
          holds,
          f.name === 'admin.token' || f.name === 'kubeconfig' ? holds : false,
          `${path} holds no user token`,
        );
      }
    }
    const table = await server.cli(['token', 'list']);
    assert.match(table.stdout, /operator-user\s+operator\s+a/);

    const r = await server.cli([
      'token',
      'create',
      '--user',
      'temp',
      '--role',
      'viewer',
      '--namespaces',
      'a',
    ]);
    const temp = r.stdout.trim();
    assert.equal(
      (await call(temp, 'GET', '/apis/kubevirt.io/v1/namespaces/a/virtualmachines')).status,
      200,
    );
    const watch = await fetch(
      `${server.url}/apis/kubevirt.io/v1/namespaces/a/virtualmachines?watch=1&timeoutSeconds=60`,
      { headers: { authorization: `Bearer ${temp}` } },
    );
    assert.equal(watch.status, 200);
    const ended = watch.text();
    const id = temp.split('_')[1]!;
    const revoke = await server.cli(['token', 'revoke', id]);
    assert.equal(revoke.code, 0, revoke.stderr);
    const started = Date.now();
    await ended;
    assert.ok(Date.now() - started < 10_000, 'the open watch ended on revocation');
    const after401 = await call(temp, 'GET', '/apis/kubevirt.io/v1/namespaces/a/virtualmachines');
    assert.equal(after401.status, 401);
    assert.equal(after401.body.reason, 'Unauthorized');
    // Only an admin manages tokens.
    const byOperator = await server.cli(['token', 'list', '--token', tokens.operator]);
    assert.notEqual(byOperator.code, 0);
    assert.match(byOperator.stderr, /forbidden/i);
  });

  it('the web UI’s reads work for an operator in its namespace', async () => {
    for (const path of [
      '/api/v1/namespaces',
      '/apis/kubevirt.io/v1/namespaces/a/virtualmachines',
      '/apis/kubevirt.io/v1/namespaces/a/virtualmachineinstances',
      '/api/v1/namespaces/a/pods',
      '/api/v1/namespaces/a/events',
      '/apis/k8s.cni.cncf.io/v1/namespaces/a/network-attachment-definitions',
      '/apis/harrow.io/v1/macpools',
      '/apis/harrow.io/v1/macallocations',
      '/apis/harrow.io/v1/namespaces/a/auditrecords',
      '/apis',
    ]) {
      assert.equal((await call('operator', 'GET', path)).status, 200, path);
    }
    assert.equal((await call('operator', 'GET', '/metrics')).status, 403, '/metrics is for admins');
    const guest = (
      await call('viewer', 'GET', '/apis/kubevirt.io/v1/namespaces/a/virtualmachines/guest')
    ).body as VirtualMachine;
    assert.equal(guest.metadata.name, 'guest');
  });
});
