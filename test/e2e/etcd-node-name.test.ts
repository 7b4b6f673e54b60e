// One node name, one live process: a second replica on the same etcd with the same --node-name (a local node that
// would start that node's guests too) refuses to start and says who holds the name; a killed holder frees it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd.ts';
import { startServer, type HarrowServer } from './harness.ts';

let etcd: EtcdCluster | undefined;
const servers: HarrowServer[] = [];

before(async () => {
  etcd = await startEtcdCluster(1);
});

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await etcd?.stop();
});

const args = (): string[] => [
  '--etcd',
  etcd!.endpoints.join(','),
  '--etcd-prefix',
  `/node-name-${process.pid}`,
  '--node-name',
  'shared-host',
];

async function start(): Promise<HarrowServer> {
  const server = await startServer({ args: args() });
  servers.push(server);
  return server;
}

test('a second replica with a node name a live process holds refuses to start, naming the holder', async () => {
  const first = await start();
  await assert.rejects(start(), (e: Error) => {
    assert.match(
      e.message,
      new RegExp(`node name "shared-host" is held by process ${first.pid} on host`),
    );
    assert.match(e.message, /another --node-name/);
    return true;
  });
  // The holder's own node still works: it is the one Node of that name.
  const nodes = await first.client.list('Node');
  assert.deepEqual(
    nodes.items.map((n) => n.metadata.name),
    ['shared-host'],
  );
});

test('a holder killed without releasing the name does not keep it from a new process on the same host', async () => {
  const holder = servers[0]!;
  await holder.kill('SIGKILL');
  const next = await start();
  assert.equal(await next.client.ready(), true);
  // A clean stop releases the name at once.
  await next.stop();
  const again = await start();
  assert.equal(await again.client.ready(), true);
});
