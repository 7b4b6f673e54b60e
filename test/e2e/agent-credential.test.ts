// The control plane's calls to a node agent's API (guest-exec, interfacelist) carry that node's own credential, never the
// admin token: a Node's harrow.io/agent-url is pointed at a small HTTP server here, which records what it is sent.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { agentApiCredential, tokenHash } from '../../src/apiserver/tokens.ts';
import type { NodeObject } from '../../src/controllers/scheduler.ts';
import type { VirtualMachineInstance } from '../../src/resources/types.ts';
import { nodeToken } from './agent-support.ts';
import { NS } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('the control plane calls node agents with a per-node credential', () => {
  let server: HarrowServer;
  let trap: Server;
  let trapUrl = '';
  const received: Received[] = [];

  before(async () => {
    trap = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'no guest here' }));
      });
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    server = await startServer({ args: ['--no-local-node'] });
  });
  after(async () => {
    await server?.stop();
    trap?.closeAllConnections();
    await new Promise<void>((r) => (trap ? trap.close(() => r()) : r()));
  });

  /** A Ready Node whose agent API is the trap, naming `tokenId` as its agent's token; schedulable while it is the only one. */
  async function trapNode(name: string, tokenId: string): Promise<void> {
    const created = await server.client.create<NodeObject>(
      'Node',
      {},
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: {
            'harrow.io/agent-url': trapUrl,
            'harrow.io/agent-token-id': tokenId,
            // A long interval: the control plane does not give up on this node while the test runs.
            'harrow.io/heartbeat-interval-ms': '600000',
          },
        },
        spec: {},
      },
    );
    await server.client.replaceStatus<NodeObject>('Node', { name }, {
      ...created,
      status: {
        capacity: { 'harrow.io/vms': '10' },
        allocatable: { 'harrow.io/vms': '10' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'HarrowAgentReady',
            lastHeartbeatTime: new Date().toISOString(),
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
    } as NodeObject);
  }

  /** A bare VMI scheduled to `node`, marked Running as its agent would, so the API reaches for its guest. */
  async function vmiOn(name: string, node: string): Promise<void> {
    await server.client.create<VirtualMachineInstance>(
      'VirtualMachineInstance',
      { namespace: NS },
      {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: { name, namespace: NS },
        spec: { domain: { devices: {} } },
      } as VirtualMachineInstance,
    );
    await waitFor(
      async () =>
        (
          await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
            namespace: NS,
            name,
          })
        ).status?.nodeName === node,
      { timeoutMs: 60_000, message: `${name} scheduled to ${node}` },
    );
  }

  /** Marks the VMI Running (again, should a controller have written over it) and asks for its interfaces. */
  async function askInterfaces(name: string): Promise<string> {
    const vmi = await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
      namespace: NS,
      name,
    });
    if (vmi.status?.phase !== 'Running') {
      delete vmi.metadata.resourceVersion;
      await server.client.replaceStatus('VirtualMachineInstance', { namespace: NS, name }, {
        ...vmi,
        status: { ...vmi.status, phase: 'Running' },
      } as VirtualMachineInstance);
    }
    const r = await fetch(
      `${server.url}/apis/subresources.kubevirt.io/v1/namespaces/${NS}/virtualmachineinstances/${name}/interfacelist`,
      { headers: { authorization: `Bearer ${server.token}` } },
    );
    return `${r.status} ${await r.text()}`;
  }

  it('sends the node’s derived credential to its agent URL, and no admin token', async () => {
    const token = await nodeToken(server, 'trap');
    await trapNode('trap', token.split('_')[1]!);
    await vmiOn('trapped', 'trap');
    await waitFor(
      async () => {
        await askInterfaces('trapped');
        return received.length > 0;
      },
      { timeoutMs: 60_000, message: 'the apiserver called the agent URL' },
    );
    const call = received[0]!;
    assert.equal(call.url.split('?')[0], '/observe');
    assert.equal(
      call.headers.authorization,
      `Bearer ${agentApiCredential(tokenHash(token), 'trap')}`,
      'the credential the trap node’s own agent would accept',
    );
    for (const r of received) {
      const everything = JSON.stringify(r);
      assert.ok(!everything.includes(server.token), 'the admin token is never sent');
      assert.ok(!everything.includes(token), 'nor the node token itself');
    }
  });

  it('calls no agent whose Node names a token that is not its own node token', async () => {
    // trap2 names trap's token: a node could name another's to have its credential sent to its own URL.
    const trapToken = (await server.client.get<NodeObject>('Node', { name: 'trap' })).metadata
      .annotations?.['harrow.io/agent-token-id'];
    const stopScheduling = await server.client.get<NodeObject>('Node', { name: 'trap' });
    delete stopScheduling.metadata.resourceVersion;
    await server.client.replace('Node', { name: 'trap' }, {
      ...stopScheduling,
      spec: { unschedulable: true },
    } as NodeObject);
    await trapNode('trap2', trapToken!);
    await vmiOn('trapped2', 'trap2');
    const before = received.length;
    const answer = await waitFor(
      async () => {
        const a = await askInterfaces('trapped2');
        return /not a live node token of trap2/.test(a) ? a : false;
      },
      { timeoutMs: 60_000, message: 'interfacelist refused for lack of a node credential' },
    );
    assert.doesNotMatch(answer, /^2/, answer);
    assert.equal(received.length, before, 'the trap got no call for trap2');
  });
});
