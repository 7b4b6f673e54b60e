// Creates racing pool-gc: when a released MAC's quarantine ends, admission may plan a guarded update of its MacAllocation
// while pool-gc deletes it. Every create is answered 201 or 409, never 404, on SQLite and on etcd.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MacAllocationService } from '../../src/allocation/service.ts';
import { virtualMachineAdmission } from '../../src/apiserver/admission/virtualmachine.ts';
import { ADMIN_USER, staticTokenAuthenticator } from '../../src/apiserver/auth.ts';
import { createApiServer } from '../../src/apiserver/server.ts';
import { openEtcdStore } from '../../src/store/etcd/store.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import type { ResourceStore } from '../../src/store/types.ts';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd.ts';
import { vmManifest } from '../unit/apiserver-harness.ts';

const TOKEN = 'race-token-0123456789abcdef';
const CLIENTS = 6;
/** The count; lower it (HARROW_RACE_CREATES) for a quick local run. */
const CREATES = Number(process.env.HARROW_RACE_CREATES ?? 10_000);
/** etcd commits each write through its log: a tenth of the creates there still opens the window hundreds of times. */
const ETCD_CREATES = Number(process.env.HARROW_RACE_ETCD_CREATES ?? Math.ceil(CREATES / 10));

/**
 * CLIENTS clients create and delete VMs whose MACs the pool fills; what pool-gc does runs alongside: each deleted VM's
 * MAC goes into a 1 s quarantine, and a sweep deletes every quarantine that has ended, over and over. The pool hands a
 * MAC back first once its quarantine ends, so creates keep meeting allocations the sweep is deleting at that moment.
 */
async function race(store: ResourceStore, creates: number): Promise<Map<number, number>> {
  const macs = await MacAllocationService.open(store, { quarantineSeconds: 1 });
  const app = await createApiServer({
    store,
    admission: [virtualMachineAdmission(store, macs)],
    authenticator: staticTokenAuthenticator([{ token: TOKEN, user: ADMIN_USER }]),
    limits: { requestsPerSecond: 1_000_000, burst: 1_000_000 },
  });
  const codes = new Map<number, number>();
  const messages: string[] = [];
  let started = 0;
  let done = false;
  const url = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines';
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const client = async (c: number): Promise<void> => {
    while (started < creates) {
      const name = `race-${c}-${started++}`;
      const r = await app.inject({
        method: 'POST',
        url,
        headers,
        payload: JSON.stringify(vmManifest(name)),
      });
      codes.set(r.statusCode, (codes.get(r.statusCode) ?? 0) + 1);
      if (r.statusCode !== 201 && r.statusCode !== 409 && messages.length < 5)
        messages.push(r.body);
      if (r.statusCode !== 201) continue;
      const d = await app.inject({ method: 'DELETE', url: `${url}/${name}`, headers });
      assert.equal(d.statusCode, 200, d.body);
      await macs.releaseUnreferenced('default', name, new Set());
    }
  };
  const sweep = async (): Promise<void> => {
    while (!done) {
      await macs.expireQuarantine();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  try {
    const sweeping = sweep();
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    done = true;
    await sweeping;
  } finally {
    done = true;
    macs.close();
    await app.close();
  }
  assert.deepEqual(
    [...codes.keys()].filter((code) => code !== 201 && code !== 409),
    [],
    `every create answered 201 or 409: ${JSON.stringify([...codes])}; e.g. ${messages.join(' | ')}`,
  );
  return codes;
}

describe('a create racing the end of a quarantine', () => {
  it(`is answered 201 or 409, never 404, over ${CREATES} creates on SQLite`, async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const codes = await race(store, CREATES);
      assert.ok((codes.get(201) ?? 0) > CREATES / 2, JSON.stringify([...codes]));
    } finally {
      await store.close();
    }
  });

  describe('on etcd', () => {
    let etcd: EtcdCluster | undefined;
    before(async () => {
      etcd = await startEtcdCluster(1);
    });
    after(async () => {
      await etcd?.stop();
    });
    it(`is answered 201 or 409, never 404, over ${ETCD_CREATES} creates on etcd`, async () => {
      const store = await openEtcdStore({
        endpoints: etcd!.endpoints,
        prefix: `/race-${process.pid}-${Date.now()}`,
      });
      try {
        const codes = await race(store, ETCD_CREATES);
        assert.ok((codes.get(201) ?? 0) > ETCD_CREATES / 2, JSON.stringify([...codes]));
      } finally {
        await store.close();
      }
    });
  });
});
