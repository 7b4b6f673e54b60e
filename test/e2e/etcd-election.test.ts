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
  });
  return { name, election, log, client };
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    assert.ok(Date.now() - start < ms, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

test('one leader among three; resign hands over at once', async () => {
  const key = '/e1/leader';
  const cs = ['a', 'b', 'c'].map((n) => candidate(n, key));
  await until('a leader', () => cs.some((c) => c.election.isLeader()));
  await new Promise((r) => setTimeout(r, 300));
  const leaders = cs.filter((c) => c.election.isLeader());
  assert.equal(leaders.length, 1, 'exactly one leader');
  const first = leaders[0] as Candidate;
  assert.equal(await first.election.leader(), first.name);
  await first.election.resign();
  assert.deepEqual(first.log, ['elected', 'lost: resigned']);
  const rest = cs.filter((c) => c !== first);
  const took = await until('a new leader after resign', () =>
    rest.some((c) => c.election.isLeader()),
  );
  assert.ok(took < 1500, `hand-over after resign took ${took} ms`);
  assert.equal(rest.filter((c) => c.election.isLeader()).length, 1);
  for (const c of rest) await c.election.resign();
});

test('a leader frozen away from etcd steps down by itself before its lease can expire', async () => {
  const a = candidate('a', '/e2/leader', 3);
  await until('a leads', () => a.election.isLeader());
  etcd!.signal(0, 'SIGSTOP');
  try {
    const took = await until('a steps down', () => !a.election.isLeader(), 5000);
    assert.ok(took < 3000, `stepped down after ${took} ms, before the 3 s TTL`);
    assert.match(a.log.join(', '), /lost: no lease keepalive/);
  } finally {
    etcd!.signal(0, 'SIGCONT');
  }
  await until('a leads again once etcd is back', () => a.election.isLeader());
  await a.election.resign();
});

test('a killed leader process is replaced within its TTL', async () => {
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
  await until('a leads', () => a.out().includes('elected'), 15_000);
  const b = spawnCandidate('b');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(b.out(), '', 'b waits while a leads');
  const killedAt = Date.now();
  a.child.kill('SIGKILL');
  await until('b leads', () => b.out().includes('elected'), 10_000);
  const electedAt = Number(/elected (\d+)/.exec(b.out())?.[1]);
  console.log(`# new leader ${electedAt - killedAt} ms after the leader was SIGKILLed (TTL 2 s)`);
  assert.ok(electedAt - killedAt < 10_000);
  b.child.kill('SIGTERM');
});
