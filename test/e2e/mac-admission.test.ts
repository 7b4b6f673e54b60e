// S5, S6, S6b: the MAC pool at the API door — uniqueness under concurrency, bad input refused with field causes and
// nothing changed, and the pool's life cycle (re-apply, release into quarantine, exhaustion, many VMs at once).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../../src/client/client.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import {
  macAllocationName,
  type MacAllocation,
  type VirtualMachine,
} from '../../src/resources/types.ts';
import {
  NS,
  bridgeNetwork,
  getVm,
  launcherPod,
  networkStatus,
  specMacs,
  virtualMachine,
} from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const MAC_FIELD = 'spec.template.spec.domain.devices.interfaces[0].macAddress';

/**
 * POSTs a body the server refuses by its Content-Length alone. The server answers 413 without reading and closes, so
 * the headers go first and the body only if no answer came: racing a 4 MiB write against that close would sometimes
 * lose the answer to a connection reset.
 */
function postUnread(
  url: string,
  token: string,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    req.flushHeaders();
    setTimeout(() => {
      if (!answered) req.end(body);
    }, 2000);
  });
}

async function refused(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail('the request was accepted');
}

describe('the MAC pool at the API door', { concurrency: false }, () => {
  let server: HarrowServer;
  before(async () => {
    server = await startServer({ runtime: 'sim' });
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 41),
    );
  });
  after(async () => {
    await server?.stop();
  });

  /** Everything an admission mistake could leak into. */
  async function snapshot(): Promise<string> {
    const vms = await server.client.listAll<VirtualMachine>('VirtualMachine', { namespace: NS });
    const allocs = await server.client.listAll<MacAllocation>('MacAllocation');
    return JSON.stringify({
      // generation, not resourceVersion: the controllers keep writing status meanwhile, and that is no change by a request.
      vms: vms.map((v) => [v.metadata.name, v.metadata.generation, specMacs(v)]).sort(),
      allocs: allocs
        .map((a) => [a.metadata.name, a.status.state, a.spec.owner.name, a.spec.owner.interface])
        .sort(),
    });
  }

  test('S5 uniqueness: 500 concurrent creates, half asking for colliding MACs → no duplicate, every loser 409 naming the field', async () => {
    const contested = Array.from(
      { length: 50 },
      (_, i) => `02:48:52:c0:00:${i.toString(16).padStart(2, '0')}`,
    );
    const requests = Array.from({ length: 500 }, (_, i) =>
      virtualMachine(`s5-${i}`, {
        runStrategy: 'Halted',
        ...(i % 2 === 0 ? { mac: contested[(i / 2) % 50] } : {}),
      }),
    );
    const results = await Promise.allSettled(
      requests.map((vm) => server.client.create('VirtualMachine', { namespace: NS }, vm)),
    );
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(losers.length, 250 - 50, 'exactly one winner per contested MAC');
    for (const l of losers) {
      assert.ok(l.reason instanceof ApiError, String(l.reason));
      assert.equal(l.reason.code, 409);
      assert.equal(l.reason.causes[0]?.field, MAC_FIELD);
      assert.match(l.reason.message, /in use by default\/s5-\d+|being assigned to default\/s5-\d+/);
    }
    const vms = await server.client.listAll<VirtualMachine>('VirtualMachine', { namespace: NS });
    const macs = vms.flatMap((v) => specMacs(v));
    assert.equal(macs.length, 300);
    assert.equal(new Set(macs).size, 300, 'no MAC appears twice in the store');
    const allocs = await server.client.listAll<MacAllocation>('MacAllocation');
    assert.deepEqual(
      new Set(allocs.map((a) => a.spec.macAddress)),
      new Set(macs),
      'allocations match the manifests one to one',
    );
  });

  test('S6 bad input: malformed, multicast, broadcast, zero and duplicate MACs, bad JSON, unknown interfaces, huge bodies → 4xx with causes, nothing changed', async () => {
    const before = await snapshot();
    const cases: Array<{ what: string; vm: VirtualMachine; field: string; pattern: RegExp }> = [
      {
        what: 'malformed',
        vm: virtualMachine('bad-1', { mac: '02:48:52:zz:00:01' }),
        field: MAC_FIELD,
        pattern: /invalid|MAC/i,
      },
      {
        what: 'short',
        vm: virtualMachine('bad-2', { mac: '02:48:52:00:01' }),
        field: MAC_FIELD,
        pattern: /malformed MAC address/,
      },
      {
        what: 'multicast',
        vm: virtualMachine('bad-3', { mac: '01:00:5e:00:00:01' }),
        field: MAC_FIELD,
        pattern: /multicast/i,
      },
      {
        what: 'broadcast',
        vm: virtualMachine('bad-4', { mac: 'ff:ff:ff:ff:ff:ff' }),
        field: MAC_FIELD,
        pattern: /broadcast/i,
      },
      {
        what: 'zero',
        vm: virtualMachine('bad-5', { mac: '00:00:00:00:00:00' }),
        field: MAC_FIELD,
        pattern: /zero/i,
      },
      {
        what: 'same MAC twice in one VM',
        vm: virtualMachine('bad-6', {
          interfaces: [
            { name: 'a', network: 'lan', mac: '02:48:52:dd:00:01' },
            { name: 'b', network: 'lan', mac: '02-48-52-DD-00-01' },
          ],
        }),
        field: 'spec.template.spec.domain.devices.interfaces[1].macAddress',
        pattern: /already used by interface/,
      },
    ];
    const unknown = virtualMachine('bad-7', { mac: '02:48:52:dd:00:02' });
    unknown.spec.template.spec.networks = [{ name: 'other', multus: { networkName: 'lan' } }];
    cases.push({
      what: 'interface without a network',
      vm: unknown,
      field: 'spec.template.spec.domain.devices.interfaces[0].name',
      pattern: /interfaces\[0\]\.name 'default' not found\./,
    });
    for (const c of cases) {
      const e = await refused(server.client.create('VirtualMachine', { namespace: NS }, c.vm));
      assert.equal(e.code, 422, `${c.what}: ${e.message}`);
      assert.equal(e.reason, 'Invalid', c.what);
      const cause = e.causes.find((x) => x.field === c.field);
      assert.ok(cause, `${c.what}: a cause names ${c.field}: ${JSON.stringify(e.causes)}`);
      assert.match(cause.message ?? '', c.pattern, c.what);
    }
    const raw = (body: string, type = 'application/json'): Promise<Response> =>
      fetch(`${server.url}/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': type },
        body,
      });
    const badJson = await raw('{"apiVersion": "kubevirt.io/v1", "kind": ');
    assert.equal(badJson.status, 400);
    assert.equal(((await badJson.json()) as { reason: string }).reason, 'BadRequest');
    const huge = await postUnread(
      `${server.url}/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`,
      server.token,
      JSON.stringify({ ...virtualMachine('bad-8'), padding: 'x'.repeat(4 * 1024 * 1024) }),
    );
    assert.equal(huge.status, 413);
    assert.equal((JSON.parse(huge.body) as { reason: string }).reason, 'RequestEntityTooLarge');
    assert.equal(await snapshot(), before, 'refused creates changed nothing');

    // A refused update leaks nothing either: the MAC it asked for stays free, the VM keeps its own.
    const victim = await server.client.create<VirtualMachine>(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('upd-1', { runStrategy: 'Halted' }),
    );
    const holder = await server.client.create<VirtualMachine>(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('upd-2', { runStrategy: 'Halted' }),
    );
    const middle = await snapshot();
    const taken = specMacs(holder)[0]!;
    const e1 = await refused(
      server.client.mergePatch(
        'VirtualMachine',
        { namespace: NS, name: 'upd-1' },
        {
          spec: {
            template: {
              spec: {
                domain: {
                  devices: { interfaces: [{ name: 'default', bridge: {}, macAddress: taken }] },
                },
              },
            },
          },
        },
      ),
    );
    assert.equal(e1.code, 409);
    assert.equal(e1.causes[0]?.field, MAC_FIELD);
    assert.match(e1.message, /upd-2/, 'the holder is named');
    const e2 = await refused(
      server.client.jsonPatch('VirtualMachine', { namespace: NS, name: 'upd-1' }, [
        {
          op: 'replace',
          path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
          value: 'not-a-mac',
        },
      ]),
    );
    assert.equal(e2.code, 422);
    const e3 = await refused(
      server.client.jsonPatch('VirtualMachine', { namespace: NS, name: 'upd-1' }, [
        {
          op: 'replace',
          path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
          value: '02:48:52:ee:00:01',
        },
        { op: 'test', path: '/metadata/name', value: 'someone-else' },
      ]),
    );
    assert.ok(e3.code >= 400 && e3.code < 500);
    const stale = { ...victim, spec: { ...victim.spec, runStrategy: 'Always' as const } };
    await server.client.mergePatch(
      'VirtualMachine',
      { namespace: NS, name: 'upd-1' },
      { metadata: { labels: { touched: 'yes' } } },
    );
    const e4 = await refused(
      server.client.replace('VirtualMachine', { namespace: NS, name: 'upd-1' }, stale),
    );
    assert.equal(e4.code, 409, 'a stale resourceVersion is refused');
    const after = JSON.parse(await snapshot()) as { allocs: unknown[] };
    assert.deepEqual(
      after.allocs,
      (JSON.parse(middle) as { allocs: unknown[] }).allocs,
      'refused updates leaked no allocation',
    );
    await assert.rejects(
      server.client.get('MacAllocation', { name: macAllocationName('02:48:52:ee:00:01') }),
    );
  });

  test('S6b pool life cycle: re-apply keeps MACs, removal and deletion quarantine, exhaustion is clear, 50 VMs at once get distinct MACs', async () => {
    // Re-applying the same manifest (no MAC in it) keeps the MACs it was given — as a PUT of the whole manifest (taking
    // the latest resourceVersion: the controller writes status meanwhile) and as kubectl apply's merge patch.
    const manifest = virtualMachine('life-1', {
      runStrategy: 'Halted',
      interfaces: [
        { name: 'a', network: 'lan' },
        { name: 'b', network: 'lan' },
      ],
    });
    const first = await server.client.create<VirtualMachine>(
      'VirtualMachine',
      { namespace: NS },
      manifest,
    );
    const again = await waitFor(
      async () => {
        const current = await getVm(server.client, 'life-1');
        return server.client.replace<VirtualMachine>(
          'VirtualMachine',
          { namespace: NS, name: 'life-1' },
          {
            ...structuredClone(manifest),
            metadata: { ...manifest.metadata, resourceVersion: current.metadata.resourceVersion },
          } as KubeObject,
        );
      },
      { message: 're-apply by PUT' },
    );
    assert.deepEqual(specMacs(again), specMacs(first));
    const applied = await server.client.mergePatch<VirtualMachine>(
      'VirtualMachine',
      { namespace: NS, name: 'life-1' },
      { spec: structuredClone(manifest.spec) },
    );
    assert.deepEqual(specMacs(applied), specMacs(first));
    const [macA, macB] = specMacs(first) as [string, string];

    // Removing an interface quarantines its MAC; a quarantined MAC is refused to others and never handed out.
    await server.client.jsonPatch('VirtualMachine', { namespace: NS, name: 'life-1' }, [
      { op: 'remove', path: '/spec/template/spec/domain/devices/interfaces/1' },
      { op: 'remove', path: '/spec/template/spec/networks/1' },
    ]);
    const qb = await waitFor(
      async () => {
        const a = await server.client.get<MacAllocation>('MacAllocation', {
          name: macAllocationName(macB),
        });
        return a.status.state === 'Quarantined' ? a : false;
      },
      { message: 'removed interface MAC quarantined' },
    );
    assert.ok(
      Date.parse(qb.status.quarantineUntil!) > Date.now() + 60_000,
      'quarantined for minutes',
    );
    const e = await refused(
      server.client.create(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine('life-2', { mac: macB, runStrategy: 'Halted' }),
      ),
    );
    assert.equal(e.code, 409);
    assert.match(e.message, /quarantined until/);

    // Deleting the VM quarantines the rest.
    await server.client.delete('VirtualMachine', { namespace: NS, name: 'life-1' });
    await waitFor(
      async () =>
        (await server.client.get<MacAllocation>('MacAllocation', { name: macAllocationName(macA) }))
          .status.state === 'Quarantined',
      {
        message: 'deleted VM MAC quarantined',
      },
    );

    // 50 VMs started at once with no MAC all get distinct MACs, none of them a quarantined one.
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        server.client.create<VirtualMachine>(
          'VirtualMachine',
          { namespace: NS },
          virtualMachine(`burst-${i}`),
        ),
      ),
    );
    const burst = many.map((v) => specMacs(v)[0]!);
    assert.equal(new Set(burst).size, 50);
    assert.ok(!burst.includes(macA) && !burst.includes(macB), 'no quarantined MAC handed out');
    const running = await waitFor(
      async () => {
        const pods = await Promise.all(
          many.map((v) => launcherPod(server.client, v.metadata.name)),
        );
        return pods.every((p) => p) ? pods : false;
      },
      { timeoutMs: 60_000, message: '50 launcher pods with network-status' },
    );
    assert.deepEqual(
      running.map((p) => networkStatus(p)[0]?.mac),
      burst,
      "each pod interface has its VM's MAC",
    );

    // An exhausted range is a clear error.
    await server.client.create(
      'MacPool',
      {},
      {
        apiVersion: 'harrow.io/v1',
        kind: 'MacPool',
        metadata: { name: 'tiny' },
        spec: { ranges: [{ start: '0a:00:00:00:00:01', end: '0a:00:00:00:00:02' }] },
      },
    );
    const tiny = { 'harrow.io/mac-pool': 'tiny' };
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('tiny-1', { runStrategy: 'Halted', annotations: tiny }),
    );
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('tiny-2', { runStrategy: 'Halted', annotations: tiny }),
    );
    const full = await refused(
      server.client.create(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine('tiny-3', { runStrategy: 'Halted', annotations: tiny }),
      ),
    );
    assert.equal(full.code, 507);
    assert.match(full.message, /exhausted/);
    await assert.rejects(getVm(server.client, 'tiny-3'));
  });
});
