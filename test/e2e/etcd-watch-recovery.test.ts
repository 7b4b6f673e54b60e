// A replica whose etcd watches end (partitioned while etcd compacts past its place, so etcd cancels them with
// ErrCompacted on reconnect) says not ready, re-lists and watches again by itself, and then acts on what changed meanwhile.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { macAllocationName } from '../../src/resources/types.ts';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd/store.ts';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { NS, bridgeNetwork, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const PREFIX = `/watch-recovery-${process.pid}`;
const MAC = '02:7e:00:00:00:0a';
let etcd: EtcdCluster | undefined;
let proxy: TcpProxy | undefined;
let replica: HarrowServer | undefined;
let writer: EtcdStore | undefined;

before(async () => {
  etcd = await startEtcdCluster(1);
  const target = new URL(etcd.endpoints[0]!);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  // The replica reaches etcd only through the proxy; the test's own writer goes straight to etcd.
  replica = await startServer({
    args: ['--etcd', proxy.url, '--etcd-prefix', PREFIX, '--node-name', 'cp-w', '--no-local-node'],
  });
  writer = await openEtcdStore({ endpoints: etcd.endpoints, prefix: PREFIX });
});

after(async () => {
  proxy?.heal();
  await replica?.stop();
  await writer?.close();
  await proxy?.close();
  await etcd?.stop();
});

test('a replica whose etcd watches were compacted away is not ready until it has re-listed, then sees the gap', async () => {
  const api = replica!.client;
  const instances = async (): Promise<string[]> =>
    (await api.list('VirtualMachineInstance', { namespace: NS })).items.map((i) => i.metadata.name);
  await api.create('NetworkAttachmentDefinition', { namespace: NS }, bridgeNetwork('lan', 41));
  await api.create(
    'VirtualMachine',
    { namespace: NS },
    virtualMachine('before-gap', { mac: MAC, runStrategy: 'Halted' }),
  );
  await api.create('VirtualMachine', { namespace: NS }, virtualMachine('deleted-in-gap'));
  await waitFor(async () => (await instances()).includes('deleted-in-gap'), {
    message: 'the VM controller made the instance',
  });
  assert.equal(await api.ready(), true);

  proxy!.cut();
  // While its watches are down it cannot know what changes: not ready.
  await waitFor(async () => !(await api.ready()), {
    timeoutMs: 60_000,
    message: '/readyz says not ready while the replica cannot watch etcd',
  });
  // Meanwhile another replica (here: the store directly) releases the MAC, and etcd compacts past the replica's place.
  await writer!.delete({ kind: 'VirtualMachine', namespace: NS, name: 'before-gap' });
  await writer!.delete({ kind: 'MacAllocation', name: macAllocationName(MAC) });
  await writer!.delete({ kind: 'VirtualMachine', namespace: NS, name: 'deleted-in-gap' });
  await writer!.create(virtualMachine('created-in-gap', { mac: '02:7e:00:00:00:0b' }));
  await writer!.compact();
  proxy!.heal();

  await waitFor(() => api.ready(), {
    timeoutMs: 120_000,
    message: '/readyz says ready again once the replica has re-listed and watches',
  });
  // Ready means caught up: the MAC released during the gap is free for a new VM at once.
  const created = await api.create(
    'VirtualMachine',
    { namespace: NS },
    virtualMachine('after-gap', { mac: MAC, runStrategy: 'Halted' }),
  );
  assert.equal(created.metadata.name, 'after-gap');
  // The controllers saw the gap too: the deleted VM's instance goes, the created VM's instance comes.
  await waitFor(
    async () => {
      const names = await instances();
      return !names.includes('deleted-in-gap') && names.includes('created-in-gap');
    },
    { message: 'instances follow what changed while the replica was cut off' },
  );
  assert.match(replica!.logs(), /watch ended/, 'the replica saw its watches end (compaction)');
});
