// Leader election on a real etcd: one leader at a time, hand-over on resign, take-over after a leader's lease expires.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { startLeaderElection, type LeaderElection } from '../../src/store/etcd/election.ts';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd.ts';

let etcd: EtcdCluster | undefined;
const clients: Etcd3[] = [];
const children: ChildProcess[] = [];
const CANDIDATE = join(import.meta.dirname, '..', 'support', 'election-candidate.ts');
before(async () => {
  etcd = await startEtcdCluster(1);
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of clients) c.close();
  await etcd?.stop();
});

interface Candidate {
  name: string;
  election: LeaderElection;
  log: string[];
  client: Etcd3;
}

/** A TTL no test waits out: a hand-over that happens at all happened through the leader key's delete, not the TTL. */
const LONG_TTL = 120;

function candidate(name: string, key: string, ttlSeconds = 2): Candidate {
  const client = new Etcd3({ hosts: etcd!.endpoints });
  clients.push(client);
  const log: string[] = [];
  const election = startLeaderElection({
    client,
    key,
    identity: name,
    ttlSeconds,
    onElected: () => void log.push('elected'),
    onLost: (reason) => void log.push(`lost: ${reason}`),
    onWaiting: (leader) => void log.push(`waiting: ${leader}`),
  });
  return { name, election, log, client };
}

/** Waits for a condition; the bound only turns a hang into a failure naming what never happened. */
async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    assert.ok(Date.now() - start < ms, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('one leader among three; resign hands over through the key, not the TTL', async () => {
  const key = '/e1/leader';
  const cs = ['a', 'b', 'c'].map((n) => candidate(n, key, LONG_TTL));
  await until('a leader', () => cs.some((c) => c.election.isLeader()));
  const first = cs.find((c) => c.election.isLeader())!;
  const rest = cs.filter((c) => c !== first);
  // Both others have campaigned, found the key held by the leader, and wait: the election has settled.
  await until('the other two waiting for the leader', () =>
    rest.every((c) => c.log.includes(`waiting: ${first.name}`)),
  );
  assert.deepEqual(
    cs.filter((c) => c.election.isLeader()).map((c) => c.name),
    [first.name],
    'exactly one leader',
  );
  assert.equal(await first.election.leader(), first.name);
  await first.election.resign();
  assert.deepEqual(first.log, ['elected', 'lost: resigned']);
  // With a TTL of minutes, a new leader within the wait can only come from the delete waking a waiting candidate.
  await until('a new leader after resign', () => rest.some((c) => c.election.isLeader()));
  const second = rest.find((c) => c.election.isLeader())!;
  const third = rest.find((c) => c !== second)!;
  await until('the third waiting for the new leader', () =>
    third.log.includes(`waiting: ${second.name}`),
  );
  assert.equal(third.election.isLeader(), false);
  for (const c of rest) await c.election.resign();
});

test('a leader frozen away from etcd steps down by itself, while etcd is still stopped', async () => {
  const a = candidate('a', '/e2/leader', 3);
  await until('a leads', () => a.election.isLeader());
  etcd!.signal(0, 'SIGSTOP');
  try {
    await until('a steps down', () => !a.election.isLeader());
    // Not the lease's expiry (etcd is stopped and expires nothing) but its own check, at 2/3 of the TTL.
    assert.match(a.log.join(', '), /lost: no lease keepalive for 2\/3 of its TTL/);
  } finally {
    etcd!.signal(0, 'SIGCONT');
  }
  await until('a leads again once etcd is back', () => a.election.isLeader());
  await a.election.resign();
});

test('a killed leader process is replaced once its lease expires', async () => {
  const spawnCandidate = (name: string) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CANDIDATE, etcd!.endpoints.join(','), '/e3/leader', name, '2'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    children.push(child);
    return { child, out: () => out };
  };
  const a = spawnCandidate('a');
  await until('a leads', () => a.out().includes('elected'));
  const b = spawnCandidate('b');
  await until('b waiting for a', () => /^waiting \d+ a$/m.test(b.out()));
  assert.doesNotMatch(b.out(), /elected/, 'b waits while a leads');
  const killedAt = Date.now();
  a.child.kill('SIGKILL');
  await until('b leads', () => b.out().includes('elected'));
  const electedAt = Number(/elected (\d+)/.exec(b.out())?.[1]);
  console.log(`# new leader ${electedAt - killedAt} ms after the leader was SIGKILLed (TTL 2 s)`);
  b.child.kill('SIGTERM');
});
