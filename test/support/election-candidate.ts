// Test child: one leader-election candidate in its own process (so a test can SIGKILL a leader); prints its transitions.
import { Etcd3 } from 'etcd3';
import { startLeaderElection } from '../../src/store/etcd/election.ts';

const [endpoints, key, identity, ttl] = process.argv.slice(2);
if (!endpoints || !key || !identity)
  throw new Error('usage: election-candidate.ts ENDPOINTS KEY IDENTITY [TTL]');
const client = new Etcd3({ hosts: endpoints.split(',') });
const election = startLeaderElection({
  client,
  key,
  identity,
  ttlSeconds: Number(ttl ?? 2),
  onElected: () => void process.stdout.write(`elected ${Date.now()}\n`),
  onLost: (reason) => void process.stdout.write(`lost ${Date.now()} ${reason}\n`),
  onWaiting: (leader) => void process.stdout.write(`waiting ${Date.now()} ${leader}\n`),
});
process.on('SIGTERM', () => {
  void election.resign().then(() => {
    client.close();
    process.exit(0);
  });
});
