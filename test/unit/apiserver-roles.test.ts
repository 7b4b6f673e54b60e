// Roles, the role authorizer, read filters and ApiTokens (minting, hashing, store-backed authentication, admission).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { UserInfo } from '../../src/apiserver/admission/types.ts';
import { staticTokenAuthenticator } from '../../src/apiserver/auth.ts';
import {
  grantOf,
  groupsOf,
  maySeeNamespace,
  readFilter,
  roleAuthorize,
} from '../../src/apiserver/roles.ts';
import {
  apiTokenAdmission,
  apiTokenObject,
  chainAuthenticators,
  mintToken,
  storeTokenAuthenticator,
  tokenHash,
  tokenIdOf,
  validateApiToken,
} from '../../src/apiserver/tokens.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';

const ADMIN: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };
const OPERATOR: UserInfo = { name: 'olga', groups: groupsOf('operator', ['a']) };
const VIEWER: UserInfo = { name: 'vic', groups: groupsOf('viewer', ['a', 'c']) };
const NOBODY: UserInfo = { name: 'nobody', groups: ['system:authenticated'] };

const allocation = (ownerNamespace: string): KubeObject => ({
  apiVersion: 'harrow.io/v1',
  kind: 'MacAllocation',
  metadata: { name: '02-00-00-00-00-01' },
  spec: {
    macAddress: '02:00:00:00:00:01',
    pool: 'default',
    owner: { kind: 'VirtualMachine', namespace: ownerNamespace, name: 'vm', interface: 'nic0' },
  },
});
const ns = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});

describe('grantOf', () => {
  it('reads the role and namespaces from the groups; system:masters is admin; no role is a viewer of nothing', () => {
    assert.equal(grantOf(ADMIN).role, 'admin');
    assert.deepEqual([...grantOf(VIEWER).namespaces], ['a', 'c']);
    assert.equal(grantOf(OPERATOR).role, 'operator');
    assert.deepEqual(grantOf(NOBODY), { role: 'viewer', namespaces: new Set() });
    assert.equal(grantOf({ name: 'x', groups: groupsOf('admin', []) }).role, 'admin');
  });
});

describe('roleAuthorize', () => {
  it('admin may do anything anywhere, paths included', () => {
    for (const [verb, kind, namespace] of [
      ['delete', 'ApiToken', undefined],
      ['list', 'VirtualMachine', undefined],
      ['guest-exec', 'VirtualMachineInstance', 'zz'],
      ['get', 'path:/metrics', undefined],
    ] as const) {
      assert.equal(roleAuthorize(ADMIN, verb, kind, namespace), true, `${verb} ${kind}`);
    }
  });

  it('operator: VMs, VMIs, clones and their subresources in its namespaces, reads of the rest, nothing elsewhere', () => {
    for (const verb of [
      'get',
      'list',
      'watch',
      'create',
      'update',
      'patch',
      'delete',
      'deletecollection',
      'start',
      'stop',
      'restart',
      'schedule-restart',
    ]) {
      assert.equal(roleAuthorize(OPERATOR, verb, 'VirtualMachine', 'a'), true, verb);
      assert.equal(roleAuthorize(OPERATOR, verb, 'VirtualMachine', 'b'), false, verb);
    }
    assert.equal(roleAuthorize(OPERATOR, 'guest-exec', 'VirtualMachineInstance', 'a'), true);
    assert.equal(roleAuthorize(OPERATOR, 'create', 'VirtualMachineClone', 'a'), true);
    for (const kind of ['NetworkAttachmentDefinition', 'Pod', 'Event', 'AuditRecord']) {
      assert.equal(roleAuthorize(OPERATOR, 'list', kind, 'a'), true, kind);
      assert.equal(roleAuthorize(OPERATOR, 'create', kind, 'a'), false, kind);
      assert.equal(roleAuthorize(OPERATOR, 'get', kind, 'b'), false, kind);
    }
    assert.equal(
      roleAuthorize(OPERATOR, 'list', 'VirtualMachine', undefined),
      false,
      'a cluster-wide list is for admins',
    );
    assert.equal(roleAuthorize(OPERATOR, 'create', 'MacPool', undefined), false);
    assert.equal(roleAuthorize(OPERATOR, 'get', 'MacPool', undefined, 'default'), true);
    assert.equal(roleAuthorize(OPERATOR, 'list', 'ApiToken', undefined), false);
    assert.equal(roleAuthorize(OPERATOR, 'get', 'path:/metrics', undefined), false);
  });

  it('viewer: reads and interfacelist in its namespaces, never a write, an action or guest-exec', () => {
    for (const verb of ['get', 'list', 'watch'])
      assert.equal(roleAuthorize(VIEWER, verb, 'VirtualMachine', 'c'), true, verb);
    assert.equal(roleAuthorize(VIEWER, 'interfacelist', 'VirtualMachineInstance', 'a'), true);
    for (const verb of [
      'create',
      'update',
      'patch',
      'delete',
      'deletecollection',
      'start',
      'stop',
      'restart',
    ]) {
      assert.equal(roleAuthorize(VIEWER, verb, 'VirtualMachine', 'a'), false, verb);
    }
    assert.equal(roleAuthorize(VIEWER, 'guest-exec', 'VirtualMachineInstance', 'a'), false);
    assert.equal(roleAuthorize(VIEWER, 'get', 'VirtualMachine', 'b'), false);
  });

  it('Namespace: a non-admin gets only granted ones by name, lists (filtered), and never writes', () => {
    assert.equal(roleAuthorize(VIEWER, 'get', 'Namespace', undefined, 'a'), true);
    assert.equal(roleAuthorize(VIEWER, 'get', 'Namespace', undefined, 'b'), false);
    assert.equal(roleAuthorize(VIEWER, 'list', 'Namespace', undefined), true);
    assert.equal(roleAuthorize(OPERATOR, 'create', 'Namespace', undefined, 'a'), false);
    assert.equal(roleAuthorize(OPERATOR, 'delete', 'Namespace', undefined, 'a'), false);
  });

  it('a user in no role may not read any namespace', () => {
    assert.equal(roleAuthorize(NOBODY, 'get', 'VirtualMachine', 'default'), false);
    assert.equal(maySeeNamespace(NOBODY, 'default'), false);
  });
});

describe('readFilter', () => {
  it('hides MAC allocations held in other namespaces, and other namespaces, from non-admins', () => {
    assert.equal(readFilter(ADMIN, 'MacAllocation'), undefined);
    const macs = readFilter(VIEWER, 'MacAllocation')!;
    assert.equal(macs(allocation('a')), true);
    assert.equal(macs(allocation('b')), false);
    const namespaces = readFilter(OPERATOR, 'Namespace')!;
    assert.deepEqual(
      ['a', 'b', 'default']
        .map(ns)
        .filter(namespaces)
        .map((n) => n.metadata.name),
      ['a'],
    );
    assert.equal(
      readFilter(VIEWER, 'VirtualMachine'),
      undefined,
      'namespaced kinds are decided by the authorizer',
    );
    const audit = readFilter(VIEWER, 'AuditRecord')!;
    const record = (resource: { kind: string; namespace?: string; name: string }): KubeObject => ({
      apiVersion: 'harrow.io/v1',
      kind: 'AuditRecord',
      metadata: { name: 'r', namespace: resource.namespace ?? 'default' },
      spec: { resource },
    });
    assert.equal(audit(record({ kind: 'VirtualMachine', namespace: 'a', name: 'vm' })), true);
    assert.equal(
      audit(record({ kind: 'ApiToken', name: '0123456789ab' })),
      false,
      'records about tokens, pools, namespaces are for admins',
    );
    assert.equal(readFilter(ADMIN, 'AuditRecord'), undefined);
    assert.equal(maySeeNamespace(VIEWER, 'c') && !maySeeNamespace(VIEWER, 'b'), true);
  });
});

describe('ApiTokens', () => {
  const stores: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const s of stores) await s.close();
  });

  it('mints distinct tokens whose id is readable and whose hash is the SHA-256 of the text', () => {
    const a = mintToken();
    const b = mintToken();
    assert.notEqual(a.token, b.token);
    assert.equal(tokenIdOf(a.token), a.id);
    assert.match(a.hash, /^[0-9a-f]{64}$/);
    assert.equal(a.hash, tokenHash(a.token));
    assert.equal(tokenIdOf('some-admin-token'), undefined);
  });

  it('authenticates against the stored hash only, as the user and role of the record; a deleted record stops at once', async () => {
    const store = await openSqliteStore(':memory:');
    stores.push(store);
    const minted = mintToken();
    await store.create(apiTokenObject(minted, 'olga', 'operator', ['a', 'b']));
    const stored = JSON.stringify(await store.get({ kind: 'ApiToken', name: minted.id }));
    assert.ok(!stored.includes(minted.token.slice(20)), 'no part of the secret is stored');
    const auth = storeTokenAuthenticator(store);
    assert.deepEqual(await auth.authenticate(minted.token), {
      name: 'olga',
      uid: minted.id,
      groups: groupsOf('operator', ['a', 'b']),
    });
    const forged = minted.token.slice(0, -1) + (minted.token.endsWith('A') ? 'B' : 'A');
    assert.equal(await auth.authenticate(forged), undefined, 'same id, other secret');
    assert.equal(await auth.authenticate(mintToken().token), undefined, 'unknown id');
    await store.delete({ kind: 'ApiToken', name: minted.id });
    assert.equal(await auth.authenticate(minted.token), undefined, 'revoked');
    // A record for a reserved user that admission never let in (written straight to the store) is not honoured either.
    const posing = mintToken();
    await store.create(apiTokenObject(posing, 'admin', 'admin', []));
    assert.equal(await auth.authenticate(posing.token), undefined, 'reserved user name');
  });

  it('chains the bootstrap admin token before the stored ones', async () => {
    const store = await openSqliteStore(':memory:');
    stores.push(store);
    const auth = chainAuthenticators(
      staticTokenAuthenticator([{ token: 'admin-secret-0123456789', user: ADMIN }]),
      storeTokenAuthenticator(store),
    );
    assert.equal((await auth.authenticate('admin-secret-0123456789'))?.name, 'admin');
    assert.equal(await auth.authenticate('nope'), undefined);
  });

  it('admission refuses a plaintext token, a bad hash, a role outside the three, namespaces for admin or none for a viewer, and changes', async () => {
    const good = apiTokenObject(mintToken(), 'vic', 'viewer', ['a']);
    assert.deepEqual(validateApiToken(good), []);
    const fields = (o: KubeObject): string[] => validateApiToken(o).map((c) => c.field);
    assert.deepEqual(fields({ ...good, spec: { ...good.spec, token: 'harrow_x' } }), [
      'spec.token',
    ]);
    assert.deepEqual(fields({ ...good, spec: { ...good.spec, tokenHash: 'abc' } }), [
      'spec.tokenHash',
    ]);
    assert.deepEqual(fields({ ...good, spec: { ...good.spec, role: 'root' } }), ['spec.role']);
    assert.deepEqual(fields({ ...good, spec: { ...good.spec, namespaces: [] } }), [
      'spec.namespaces',
    ]);
    assert.deepEqual(fields({ ...good, spec: { ...good.spec, namespaces: ['A/..'] } }), [
      'spec.namespaces[0]',
    ]);
    assert.deepEqual(fields({ ...good, spec: { ...good.spec, role: 'admin' } }), [
      'spec.namespaces',
    ]);
    assert.deepEqual(fields({ ...good, spec: { ...good.spec, user: 'system:kube' } }), [
      'spec.user',
    ]);
    // `admin` is the bootstrap token's user: a token of another's named so would make the audit ambiguous.
    for (const user of ['admin', 'system:harrow:controller', 'system:'])
      assert.deepEqual(fields({ ...good, spec: { ...good.spec, user } }), ['spec.user'], user);
    assert.deepEqual(fields({ ...good, metadata: { name: 'mine' } }), ['metadata.name']);
    const plugin = apiTokenAdmission();
    await plugin.admit({
      operation: 'create',
      kind: 'ApiToken',
      object: good,
      user: ADMIN,
      dryRun: false,
    });
    const changed = structuredClone(good);
    changed.spec.role = 'operator';
    await assert.rejects(
      plugin.admit({
        operation: 'update',
        kind: 'ApiToken',
        object: changed,
        oldObject: good,
        user: ADMIN,
        dryRun: false,
      }),
      (e: Error & { code?: number }) => {
        assert.equal(e.code, 422);
        assert.match(e.message, /spec: an ApiToken cannot be changed/);
        return true;
      },
    );
  });
});
