// Two Harrow replicas on a three-member etcd: concurrent creates through both, leader kill, etcd member kill.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { chainHeads, verifyAuditChain } from '../../src/audit/chain.ts';
import type { HarrowClient } from '../../src/client/client.ts';
import type { VirtualMachine } from '../../src/resources/types.ts';
import { openEtcdStore } from '../../src/store/etcd/store.ts';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd.ts';
import { NS, bridgeNetwork, specMacs, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const PREFIX = '/replicas';
const LEADER_KEY = `${PREFIX}/_leader/controllers`;
let etcd: EtcdCluster | undefined;
let client: Etcd3 | undefined;
const replicas: HarrowServer[] = [];
/** Every VM a replica acknowledged (201), by name: none may be missing at the end. */
const acknowledged = new Set<string>();

before(async () => {
  etcd = await startEtcdCluster(3);
  client = new Etcd3({ hosts: etcd.endpoints });
  const args = (node: string) => [
    '--etcd',
    etcd!.endpoints.join(','),
    '--etcd-prefix',
    PREFIX,
    '--node-name',
    node,
    '--no-local-node',
  ];
  // One after the other would hide the start-up race on the default MacPool; start both at once.
  replicas.push(
    ...(await Promise.all([
      startServer({ args: args('cp-a') }),
      startServer({ args: args('cp-b') }),
    ])),
  );
  await replicas[0]!.client.create(
    'NetworkAttachmentDefinition',
    { namespace: NS },
    bridgeNetwork('lan', 40),
  );
});

after(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  client?.close();
  await etcd?.stop();
});

const leaderValue = async (): Promise<string | undefined> =>
  (await client!.get(LEADER_KEY).string()) ?? undefined;
/** The replica whose process holds the leader key (its value is `<node>/<pid>`). */
async function leader(): Promise<HarrowServer | undefined> {
  const v = await leaderValue();
  return replicas.find((r) => v?.endsWith(`/${r.pid}`));
}

/** Creates `count` VMs named `<prefix>-<i>`, alternating replicas, `parallel` at a time; records what was acknowledged. */
async function createSpread(
  prefix: string,
  count: number,
  parallel: number,
  through: HarrowServer[],
): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const name = `${prefix}-${i}`;
      const server = through[i % through.length] as HarrowServer;
      try {
        await (server.client as HarrowClient).create(
          'VirtualMachine',
          { namespace: NS },
          virtualMachine(name, { runStrategy: 'Halted' }),
        );
        acknowledged.add(name);
      } catch (e) {
        failures.push(`${name}: ${String(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return failures;
}

async function assertConsistent(through: HarrowServer): Promise<number> {
  const vms = await through.client.listAll<VirtualMachine>('VirtualMachine', { namespace: NS });
  const names = new Set(vms.map((v) => v.metadata.name));
  const missing = [...acknowledged].filter((n) => !names.has(n));
  assert.deepEqual(missing, [], 'every acknowledged VM is stored');
  const macs = vms.flatMap((v) => specMacs(v));
  assert.ok(
    macs.every((m) => typeof m === 'string'),
    'every interface got a MAC',
  );
  const seen = new Map<string, string>();
  for (const v of vms) {
    for (const m of specMacs(v)) {
      assert.equal(
        seen.get(m as string),
        undefined,
        `MAC ${m} on ${v.metadata.name} and ${seen.get(m as string)}`,
      );
      seen.set(m as string, v.metadata.name);
    }
  }
  const allocations = await through.client.listAll('MacAllocation');
  const held = new Set(allocations.map((a) => (a.spec as { macAddress: string }).macAddress));
  for (const m of seen.keys()) assert.ok(held.has(m), `MAC ${m} has its MacAllocation`);
  return vms.length;
}

test('concurrent creates spread over both replicas: no duplicate MAC, every acknowledged write stored', async () => {
  const started = Date.now();
  const failures = await createSpread('spread', 60, 12, replicas);
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `# 60 creates through two replicas, 12 at a time: ${seconds.toFixed(1)} s (${(60 / seconds).toFixed(0)}/s)`,
  );
  assert.deepEqual(failures, []);
  assert.equal(await assertConsistent(replicas[1]!), acknowledged.size);
  // Each replica appended to its own audit hash chain: both must be whole, in commit order, up to their heads.
  const store = await openEtcdStore({ endpoints: etcd!.endpoints, prefix: PREFIX });
  try {
    const heads = chainHeads((await store.list('AuditChainHead')).items);
    const report = verifyAuditChain((await store.list('AuditRecord')).items, heads);
    assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 5)));
    assert.ok(report.records >= 61, `records: ${report.records}`);
    assert.equal(
      report.chains.length,
      2,
      `one chain per replica: ${JSON.stringify(report.chains)}`,
    );
  } finally {
    await store.close();
  }
  assert.ok(await leader(), `one replica leads (${await leaderValue()})`);
});

test('the same MAC asked for through both replicas at once: one VM gets it, the other a 409 naming the MAC', async () => {
  for (let round = 0; round < 8; round++) {
    const mac = `02:aa:00:00:00:${(16 + round).toString(16)}`;
    const results = await Promise.allSettled(
      replicas.map((r, i) =>
        r.client.create(
          'VirtualMachine',
          { namespace: NS },
          virtualMachine(`same-mac-${round}-${i}`, { runStrategy: 'Halted', mac }),
        ),
      ),
    );
    const won = results.flatMap((r, i) =>
      r.status === 'fulfilled' ? [`same-mac-${round}-${i}`] : [],
    );
    assert.equal(
      won.length,
      1,
      `round ${round}: ${results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join(' / ')}`,
    );
    for (const name of won) acknowledged.add(name);
    const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const error = lost?.reason as { code?: number; message?: string };
    assert.equal(error.code, 409, String(error.message));
    assert.match(
      String(error.message),
      new RegExp(mac.replaceAll(':', '.')),
      'the error names the MAC',
    );
  }
  await assertConsistent(replicas[0]!);
});

test('kill the leader: the other replica leads within 10 s and nothing acknowledged is lost', async () => {
  const old = await leader();
  assert.ok(old, 'a leader before the kill');
  const survivor = replicas.find((r) => r !== old) as HarrowServer;
  // Writes keep going through the survivor while the leader dies.
  const load = createSpread('during-kill', 30, 4, [survivor]);
  const killedAt = Date.now();
  await old.kill('SIGKILL');
  await waitFor(async () => (await leader()) === survivor, {
    timeoutMs: 10_000,
    intervalMs: 50,
    message: 'the survivor leads',
  });
  const took = Date.now() - killedAt;
  console.log(`# new leader ${took} ms after the leader was SIGKILLed`);
  assert.ok(took < 10_000);
  assert.deepEqual(await load, []);
  await assertConsistent(survivor);
  // The controllers now run on the survivor: a VM it did not create is still reconciled (it gets a printableStatus).
  await waitFor(
    async () =>
      (
        await survivor.client.get<VirtualMachine>('VirtualMachine', {
          namespace: NS,
          name: 'during-kill-0',
        })
      ).status?.printableStatus,
    { timeoutMs: 10_000, message: 'the new leader’s controllers reconcile' },
  );
});

test('kill one etcd member of three: the service continues', async () => {
  const survivor = (await leader()) as HarrowServer;
  assert.ok(survivor, 'a leader');
  await etcd!.kill(0);
  const failures = await createSpread('member-down', 20, 4, [survivor]);
  assert.deepEqual(failures, []);
  await assertConsistent(survivor);
  assert.equal(await leader(), survivor, 'leadership holds through the member loss');
});
