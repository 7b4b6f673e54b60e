// Node agents on the sim runtime: they register and heartbeat, VMIs are spread over them, and the VMs of a SIGKILLed
// agent run on the other one with the same MACs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import type { NodeObject } from '../../src/controllers/scheduler.ts';
import type { VirtualMachineInstance } from '../../src/resources/types.ts';
import { startAgentProcess, type AgentProcess } from './agent-support.ts';
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
      const diag = (): string =>
        `\n--- server ---\n${server.logs().slice(-4000)}\n${agents.map((a) => `--- ${a.nodeName} ---\n${a.logs().slice(-4000)}`).join('\n')}`;

      before(async () => {
        if (backend === 'etcd') etcd = await startEtcdCluster(1);
        server = await startServer({
          args: ['--no-local-node', ...(etcd ? ['--etcd', etcd.endpoints.join(',')] : [])],
        });
        for (const name of ['agent-a', 'agent-b']) {
          agents.push(
            await startAgentProcess({
              server: server.url,
              token: server.token,
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
