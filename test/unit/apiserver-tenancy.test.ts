// Two namespaces, two users: what one tenant may learn of the other's VMs through 409s, audit records and watches.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { MacAllocationService } from '../../src/allocation/service.ts';
import { virtualMachineAdmission } from '../../src/apiserver/admission/virtualmachine.ts';
import { virtualMachineCloneAdmission } from '../../src/apiserver/admission/virtualmachineclone.ts';
import { ADMIN_USER, staticTokenAuthenticator } from '../../src/apiserver/auth.ts';
import { groupsOf, maySeeNamespace, readFilter, roleAuthorize } from '../../src/apiserver/roles.ts';
import { createApiServer } from '../../src/apiserver/server.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { MacAllocation } from '../../src/resources/types.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import type { FastifyInstance } from 'fastify';
import { vmManifest } from './apiserver-harness.ts';

const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  olga: 'olga-token-0123456789abcdef', // operator of namespace a
  bob: 'bob-token-0123456789abcdef', // operator of namespace b
};
const SECRET_MAC = '02:aa:00:00:00:01';

interface Tenancy {
  app: FastifyInstance;
  store: SqliteStore;
  macs: MacAllocationService;
  clock: { now: number };
  call(
    who: keyof typeof TOKENS,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
  ): Promise<{ status: number; json: { message?: string } & Record<string, unknown> }>;
  close(): Promise<void>;
}

let t: Tenancy | undefined;
const closers: Array<() => void> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await t?.close();
  t = undefined;
});

async function tenancy(): Promise<Tenancy> {
  const store = await openSqliteStore(':memory:');
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const macs = await MacAllocationService.open(store, {
    quarantineSeconds: 1,
    now: () => clock.now,
  });
  for (const name of ['a', 'b'])
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const app = await createApiServer({
    store,
    admission: [
      virtualMachineAdmission(store, macs, { mayNameHolder: maySeeNamespace }),
      virtualMachineCloneAdmission(store, macs, { mayNameHolder: maySeeNamespace }),
    ],
    authenticator: staticTokenAuthenticator([
      { token: TOKENS.admin, user: ADMIN_USER },
      { token: TOKENS.olga, user: { name: 'olga', groups: groupsOf('operator', ['a']) } },
      { token: TOKENS.bob, user: { name: 'bob', groups: groupsOf('operator', ['b']) } },
    ]),
    authorize: roleAuthorize,
    readFilter,
  });
  return {
    app,
    store,
    macs,
    clock,
    async call(who, method, url, body) {
      const r = await app.inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${TOKENS[who]}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      return { status: r.statusCode, json: r.body === '' ? {} : JSON.parse(r.body) };
    },
    async close() {
      macs.close();
      await app.close();
      await store.close();
    },
  };
}

const vmWithMac = (name: string, mac: string): KubeObject => {
  const vm = vmManifest(name);
  const spec = vm.spec as {
    template: { spec: { domain: { devices: { interfaces: Array<{ macAddress?: string }> } } } };
  };
  spec.template.spec.domain.devices.interfaces[0]!.macAddress = mac;
  return vm;
};
const vms = (ns: string): string => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`;
const clones = (ns: string): string =>
  `/apis/clone.kubevirt.io/v1beta1/namespaces/${ns}/virtualmachineclones`;
const clone = (name: string, mac: string): KubeObject => ({
  apiVersion: 'clone.kubevirt.io/v1beta1',
  kind: 'VirtualMachineClone',
  metadata: { name },
  spec: {
    source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'web' },
    target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: `${name}-vm` },
    newMacAddresses: { default: mac },
  },
});

interface WatchLine {
  type: string;
  object: MacAllocation;
}

/** A watch over a real socket: its lines as they arrive, and a wait for the n-th. */
async function watch(
  base: string,
  who: keyof typeof TOKENS,
  path: string,
): Promise<{ lines: WatchLine[]; next(n: number): Promise<WatchLine[]> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { headers: { authorization: `Bearer ${TOKENS[who]}` } },
      (response) => {
        const lines: WatchLine[] = [];
        const waiters: Array<() => void> = [];
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          for (let i; (i = buffer.indexOf('\n')) >= 0; buffer = buffer.slice(i + 1))
            lines.push(JSON.parse(buffer.slice(0, i)) as WatchLine);
          for (const w of waiters.splice(0)) w();
        });
        closers.push(() => req.destroy());
        resolve({
          lines,
          next: (n) =>
            new Promise((ok, fail) => {
              const timer = setTimeout(
                () => fail(new Error(`waited for ${n} events, got ${JSON.stringify(lines)}`)),
                10_000,
              );
              const check = (): void => {
                if (lines.length < n) return void waiters.push(check);
                clearTimeout(timer);
                ok(lines.slice(0, n));
              };
              check();
            }),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('tenancy: one namespace learns nothing of another', () => {
  it("a VirtualMachineClone's 409 and its refused attempt's AuditRecord say 'in use by another VM' to a user who cannot see the holder", async () => {
    t = await tenancy();
    assert.equal(
      (await t.call('bob', 'POST', vms('b'), vmWithMac('secret-vm', SECRET_MAC))).status,
      201,
    );
    assert.equal((await t.call('olga', 'POST', vms('a'), vmManifest('web'))).status, 201);

    const refused = await t.call('olga', 'POST', clones('a'), clone('c1', SECRET_MAC));
    assert.equal(refused.status, 409);
    assert.match(refused.json.message ?? '', /in use by another VM/);
    assert.doesNotMatch(JSON.stringify(refused.json), /secret-vm|\bb\//);
    const records = (await t.store.list('AuditRecord', { namespace: 'a' })).items;
    const attempt = records.filter(
      (r) => (r.spec as { resource: { kind: string } }).resource.kind === 'VirtualMachineClone',
    );
    assert.equal(attempt.length, 1, 'the refused attempt is recorded');
    assert.match(JSON.stringify(attempt[0]), /in use by another VM/);
    assert.doesNotMatch(JSON.stringify(records), /secret-vm/);

    // Whoever may see the holder's namespace is told who holds it.
    const toAdmin = await t.call('admin', 'POST', clones('a'), clone('c2', SECRET_MAC));
    assert.equal(toAdmin.status, 409);
    assert.match(toAdmin.json.message ?? '', /in use by b\/secret-vm/);
  });

  it('a MacAllocation taken over by another namespace leaves the first watcher as DELETED with the object it last saw, and carries its new owner labels', async () => {
    t = await tenancy();
    const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    assert.equal(
      (await t.call('olga', 'POST', vms('a'), vmWithMac('web', SECRET_MAC))).status,
      201,
    );
    const w = await watch(base, 'olga', '/apis/harrow.io/v1/macallocations?watch=1');
    assert.deepEqual(
      (await w.next(1)).map((l) => [l.type, l.object.spec.owner.name]),
      [['ADDED', 'web']],
    );
    // Olga's VM goes; pool-gc quarantines its MAC (1 s), and once that has passed Bob's VM takes the MAC over.
    assert.equal((await t.call('olga', 'DELETE', `${vms('a')}/web`)).status, 200);
    assert.equal((await t.macs.releaseUnreferenced('a', 'web', new Set())).length, 1);
    await w.next(2);
    t.clock.now += 1500;
    assert.equal(
      (await t.call('bob', 'POST', vms('b'), vmWithMac('secret-vm', SECRET_MAC))).status,
      201,
    );

    const [, released, left] = await w.next(3);
    assert.equal(released!.type, 'MODIFIED');
    assert.equal(left!.type, 'DELETED');
    assert.doesNotMatch(JSON.stringify(left), /secret-vm|"b"/);
    assert.deepEqual(left!.object.spec.owner, released!.object.spec.owner);
    assert.equal(left!.object.status?.state, 'Quarantined');
    const stored = (await t.store.get({
      kind: 'MacAllocation',
      name: left!.object.metadata.name,
    })) as MacAllocation;
    assert.equal(stored.spec.owner.name, 'secret-vm');
    // The watcher learns the event's place in the stream, not the new object.
    assert.equal(left!.object.metadata.resourceVersion, stored.metadata.resourceVersion);
    assert.equal(stored.metadata.labels?.['harrow.io/owner-namespace'], 'b');
    assert.equal(stored.metadata.labels?.['harrow.io/owner-name'], 'secret-vm');
  });
});
