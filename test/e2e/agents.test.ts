// Node agents on the sim runtime: they register and heartbeat, VMIs are spread over them, and the VMs of a SIGKILLed
// agent run on the other one with the same MACs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import type { NodeObject } from '../../src/controllers/scheduler.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { VirtualMachineInstance } from '../../src/resources/types.ts';
import { nodeToken, startAgentProcess, type AgentProcess } from './agent-support.ts';
import { NS, bridgeNetwork, getVm, specMacs, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { ETCD_BIN, startEtcdCluster, type EtcdCluster } from '../support/etcd.ts';

const heartbeatOf = (n: NodeObject | undefined): string | undefined =>
  n?.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime as string | undefined;

const etcdSkip = existsSync(ETCD_BIN) ? false : `etcd is not installed at ${ETCD_BIN}`;

for (const backend of ['sqlite', 'etcd'] as const) {
  describe(
    `node agents (sim runtime, control plane on ${backend} without a local node)`,
    { skip: backend === 'etcd' ? etcdSkip : false },
    () => {
      let server: HarrowServer;
      let etcd: EtcdCluster | undefined;
      const agents: AgentProcess[] = [];
      const nodeTokens = new Map<string, string>();
      const diag = (): string =>
        `\n--- server ---\n${server.logs().slice(-4000)}\n${agents.map((a) => `--- ${a.nodeName} ---\n${a.logs().slice(-4000)}`).join('\n')}`;

      before(async () => {
        if (backend === 'etcd') etcd = await startEtcdCluster(1);
        server = await startServer({
          args: ['--no-local-node', ...(etcd ? ['--etcd', etcd.endpoints.join(',')] : [])],
        });
        for (const name of ['agent-a', 'agent-b']) {
          // Each agent runs with its own node's token only (user system:node:NAME), never the admin token.
          nodeTokens.set(name, await nodeToken(server, name));
          agents.push(
            await startAgentProcess({
              server: server.url,
              token: nodeTokens.get(name)!,
              nodeName: name,
              extraArgs: ['--heartbeat-ms', '1000', '--cpu', '4', '--max-vms', '50'],
            }),
          );
        }
      });
      after(async () => {
        await Promise.all(agents.map((a) => a.stop()));
        await server?.stop();
        await etcd?.stop();
      });

      it('registers each agent as a Node with capacity and a heartbeat that moves', async () => {
        const first = await server.client.get<NodeObject>('Node', { name: 'agent-a' });
        assert.equal(first.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
        assert.equal(first.status?.capacity?.cpu, '4', 'cpu capacity as given');
        assert.equal(first.status?.capacity?.['harrow.io/vms'], '50', 'max VMs as given');
        assert.equal(
          first.metadata.annotations?.['harrow.io/heartbeat-interval-ms'],
          '1000',
          'its interval, for the control plane’s grace period',
        );
        assert.match(
          first.metadata.annotations?.['harrow.io/agent-url'] ?? '',
          /^http:\/\/127\.0\.0\.1:\d+$/,
          'where its API listens',
        );
        assert.equal(
          first.metadata.annotations?.['harrow.io/agent-token-id'],
          nodeTokens.get('agent-a')!.split('_')[1],
          'the id (not the secret) of the node token it runs with',
        );
        const beat = heartbeatOf(first);
        await waitFor(
          async () =>
            heartbeatOf(await server.client.get<NodeObject>('Node', { name: 'agent-a' })) !== beat,
          {
            timeoutMs: 5000,
            message: 'a newer heartbeat',
          },
        );
        const nodes = await server.client.list<NodeObject>('Node');
        assert.deepEqual(
          nodes.items.map((n) => n.metadata.name).sort(),
          ['agent-a', 'agent-b'],
          'no Node for the control plane itself',
        );
      });

      it('spreads VMIs over the agents and moves a dead agent’s VMs with their MACs', async (t) => {
        await server.client.create(
          'NetworkAttachmentDefinition',
          { namespace: NS },
          bridgeNetwork('lan', 40),
        );
        const names = ['vm-1', 'vm-2', 'vm-3', 'vm-4'];
        for (const n of names)
          await server.client.create('VirtualMachine', { namespace: NS }, virtualMachine(n));
        const running = async (): Promise<Map<string, VirtualMachineInstance> | false> => {
          const list = await server.client.list<VirtualMachineInstance>('VirtualMachineInstance', {
            namespace: NS,
          });
          const up = list.items.filter((v) => v.status?.phase === 'Running');
          return up.length === names.length ? new Map(up.map((v) => [v.metadata.name, v])) : false;
        };
        const before = await waitFor(running, {
          timeoutMs: 30_000,
          message: 'four VMIs running',
        }).catch((e: Error) => assert.fail(e.message + diag()));
        const nodeCount = new Map<string, number>();
        for (const v of before.values())
          nodeCount.set(v.status!.nodeName!, (nodeCount.get(v.status!.nodeName!) ?? 0) + 1);
        assert.deepEqual(
          [...nodeCount.entries()].sort(),
          [
            ['agent-a', 2],
            ['agent-b', 2],
          ],
          'least loaded first: two VMIs per agent',
        );
        const macsBefore = new Map<string, string | undefined>();
        for (const n of names) {
          const vm = await getVm(server.client, n);
          macsBefore.set(n, specMacs(vm)[0]);
          assert.equal(
            before.get(n)!.status?.interfaces?.[0]?.mac,
            specMacs(vm)[0],
            `${n}: the guest has its manifest MAC`,
          );
        }
        const onA = names.filter((n) => before.get(n)!.status!.nodeName === 'agent-a');
        // guest-exec through the control plane reaches the guest on its agent.
        const exec = await server.client.guestExec(NS, onA[0]!, [
          'cat',
          '/sys/class/net/eth0/address',
        ]);
        assert.equal(
          exec.stdout.trim(),
          macsBefore.get(onA[0]!),
          'guest-exec through the API runs on the agent holding the guest',
        );

        await nodeTokenReach(server, nodeTokens.get('agent-a')!, before);
        // Everything the agents did to run their guests was within their node role.
        for (const a of agents)
          assert.doesNotMatch(
            a.logs(),
            /forbidden|not written|not recorded|cannot/i,
            `${a.nodeName} was refused something it needs:\n${a.logs().slice(-3000)}`,
          );

        const killedAt = Date.now();
        await agents[0]!.kill('SIGKILL');
        const after = await waitFor(
          async () => {
            const now = await running();
            if (!now) return false;
            return names.every((n) => now.get(n)!.status?.nodeName === 'agent-b') ? now : false;
          },
          { timeoutMs: 40_000, message: 'every VMI running on agent-b' },
        ).catch((e: Error) => assert.fail(e.message + diag()));
        const movedInMs = Date.now() - killedAt;
        for (const n of onA)
          assert.notEqual(
            after.get(n)!.metadata.uid,
            before.get(n)!.metadata.uid,
            `${n}: a new VMI`,
          );
        for (const n of names) {
          assert.equal(
            specMacs(await getVm(server.client, n))[0],
            macsBefore.get(n),
            `${n}: the manifest MAC is unchanged`,
          );
          assert.equal(
            after.get(n)!.status?.interfaces?.[0]?.mac,
            macsBefore.get(n),
            `${n}: the moved guest has the same MAC`,
          );
        }
        const nodeA = await server.client.get<NodeObject>('Node', { name: 'agent-a' });
        assert.equal(
          nodeA.status?.conditions?.find((c) => c.type === 'Ready')?.status,
          'Unknown',
          'the dead node is marked NotReady',
        );
        // Every MAC still belongs to its VM in the pool: none was released between the two instances.
        const allocations = await server.client.list('MacAllocation');
        for (const n of names) {
          const a = allocations.items.find(
            (x) => (x.spec as { macAddress?: string }).macAddress === macsBefore.get(n),
          );
          assert.ok(a, `${n}: its MAC is still allocated`);
          assert.equal(
            (a.status as { state?: string } | undefined)?.state,
            'InUse',
            `${n}: not in quarantine`,
          );
        }
        t.diagnostic(`VMs of the killed agent running on the other after ${movedInMs} ms`);
      });
    },
  );
}

/** What agent-a's node token reaches: only what runs on agent-a; no VM creation, no tokens, no other namespaces. */
async function nodeTokenReach(
  server: HarrowServer,
  token: string,
  vmis: Map<string, VirtualMachineInstance>,
): Promise<void> {
  const as = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{
    status: number;
    body: { items?: KubeObject[]; reason?: string; message?: string };
  }> => {
    const r = await fetch(server.url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as { items?: KubeObject[] }) : {} };
  };
  const pods = await as('GET', '/api/v1/pods');
  assert.equal(pods.status, 200, JSON.stringify(pods.body));
  assert.ok((pods.body.items ?? []).length > 0, 'it sees the pods scheduled to it');
  assert.deepEqual(
    [...new Set((pods.body.items ?? []).map((p) => (p.spec as { nodeName?: string }).nodeName))],
    ['agent-a'],
    'a cluster-wide pod list shows only its own node’s pods',
  );
  const listed = await as('GET', '/apis/kubevirt.io/v1/virtualmachineinstances');
  assert.deepEqual(
    [
      ...new Set(
        (listed.body.items ?? []).map((v) => (v.status as { nodeName?: string }).nodeName),
      ),
    ],
    ['agent-a'],
    'a cluster-wide VMI list shows only its own node’s VMIs',
  );
  const onB = [...vmis.values()].find((v) => v.status?.nodeName === 'agent-b')!;
  const vmiPath = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachineinstances/${onB.metadata.name}`;
  assert.equal((await as('GET', vmiPath)).status, 404, 'a VMI on agent-b is not there for it');
  assert.equal(
    (await as('GET', `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines/${onB.metadata.name}`))
      .status,
    404,
    'nor the VM of a VMI on agent-b',
  );
  const podOfB = (await server.client.list('Pod', { namespace: NS })).items.find(
    (p) => (p.spec as { nodeName?: string }).nodeName === 'agent-b',
  )!;
  const podPath = `/api/v1/namespaces/${NS}/pods/${podOfB.metadata.name}`;
  assert.equal((await as('GET', podPath)).status, 404, 'a pod on agent-b is not there for it');
  const { resourceVersion: _rv, ...unversioned } = onB.metadata;
  const moved = await as('PUT', `${vmiPath}/status`, {
    ...onB,
    metadata: unversioned,
    status: { ...onB.status, phase: 'Failed' },
  });
  assert.equal(moved.status, 403, `it cannot write agent-b's VMI: ${JSON.stringify(moved.body)}`);
  assert.equal(
    (
      await as('PUT', podPath, {
        ...podOfB,
        metadata: { ...podOfB.metadata, resourceVersion: undefined, labels: { x: 'y' } },
      })
    ).status,
    403,
    'nor agent-b’s pod',
  );
  const otherNode = await server.client.get<NodeObject>('Node', { name: 'agent-b' });
  delete otherNode.metadata.resourceVersion;
  assert.equal(
    (await as('PUT', '/api/v1/nodes/agent-b', otherNode)).status,
    403,
    'nor agent-b’s Node',
  );
  const created = await as(
    'POST',
    `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`,
    virtualMachine('by-node-token'),
  );
  assert.equal(created.status, 403, `it cannot create VMs: ${JSON.stringify(created.body)}`);
  assert.match(created.body.message ?? '', /User "system:node:agent-a" cannot create/);
  for (const path of [
    '/apis/harrow.io/v1/apitokens',
    '/api/v1/namespaces',
    '/apis/harrow.io/v1/macpools',
    '/apis/kubevirt.io/v1/virtualmachines',
    `/apis/harrow.io/v1/namespaces/${NS}/auditrecords`,
  ])
    assert.equal((await as('GET', path)).status, 403, `${path} is not a node's to read`);
  // Harrow serves no Secrets (a cloud-init secretRef waits as VolumeNotSupported): there is nothing to read there.
  const secrets = await as('GET', '/api/v1/namespaces/other/secrets');
  assert.ok(secrets.status === 403 || secrets.status === 404, `secrets: ${secrets.status}`);
}
