// Fixed addresses (Harvester's `static-ip.harvesterhci.io/<interface>` annotation) through a real `harrow serve` on the
// sim: each address admission refuses is a 422 naming the annotation and stores nothing; of VMs created at once asking
// for one address exactly one gets it and the others a 409 naming it; a bare VMI holds an address as a VM does; a
// deleted holder's address goes to the next VM (the network's DHCP server gives it back); a clone does not take it; a
// changed annotation on a running VM is a RestartRequired change that the restart applies.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXED_ADDRESS_CLAIM,
  type FixedAddressClaim,
} from '../../src/allocation/fixed-addresses.ts';
import { ApiError } from '../../src/client/errors.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../../src/resources/types.ts';
import type { VirtualMachineClone } from '../../src/resources/virtualmachineclone.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import {
  NS,
  bridgeNetwork,
  conditionOf,
  getVm,
  getVmi,
  runningVmi,
  virtualMachine,
} from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const KEY = 'static-ip.harvesterhci.io/default';
const FIELD = `metadata.annotations[${KEY}]`;

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A bare VMI (no VM) with one bridge interface on `lan`. */
const bareVmi = (name: string, annotations: Record<string, string>): KubeObject => {
  const vm = virtualMachine(name);
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: NS, annotations },
    spec: vm.spec.template.spec,
  };
};

/** The refusal `write` meets: an ApiError with this code, whose causes name `field`. */
async function refused(
  write: Promise<unknown>,
  code: 409 | 422,
  field: string,
  message: RegExp,
): Promise<void> {
  await assert.rejects(write, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.status.code, code, e.status.message);
    assert.deepEqual(
      e.status.details?.causes?.map((c) => c.field),
      [field],
      JSON.stringify(e.status),
    );
    assert.match(e.status.message ?? '', message);
    return true;
  });
}

describe('fixed addresses through the API (sim)', { concurrency: false }, () => {
  let server: HarrowServer;
  const wait = <T>(what: string, probe: () => Promise<T | false | undefined>) =>
    waitFor(async () => (await probe()) ?? false, {
      timeoutMs: 60_000,
      intervalMs: 50,
      message: what,
    }) as Promise<T>;
  const vmNames = async (): Promise<string[]> =>
    (await server.client.list('VirtualMachine', { namespace: NS })).items.map(
      (v) => v.metadata.name,
    );
  /** The store's claims, read from the server's own SQLite file (claims are not served by the API). */
  const claims = async (): Promise<FixedAddressClaim[]> => {
    const store = await openSqliteStore(join(server.dataDir, 'harrow.db'));
    try {
      return (await store.list(FIXED_ADDRESS_CLAIM)).items as FixedAddressClaim[];
    } finally {
      await store.close();
    }
  };
  const claimOf = async (address: string): Promise<FixedAddressClaim[]> =>
    (await claims()).filter((c) => c.spec.address === address);

  before(async () => {
    server = await startServer();
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 62),
    );
  });
  after(async () => {
    await server?.stop();
  });

  test('each address admission refuses is a 422 naming the annotation, and nothing is stored', async () => {
    const cases: Array<[string, VirtualMachine, string, RegExp]> = [
      [
        'malformed',
        virtualMachine('bad-form', { annotations: { [KEY]: '198.18.62.' } }),
        FIELD,
        /"198\.18\.62\." is not an IPv4 address/,
      ],
      [
        'leading zeros',
        virtualMachine('bad-zeros', { annotations: { [KEY]: '198.18.62.010' } }),
        FIELD,
        /not an IPv4 address/,
      ],
      [
        'outside the subnet',
        virtualMachine('bad-outside', { annotations: { [KEY]: '198.18.99.5' } }),
        FIELD,
        /198\.18\.99\.5 is outside the network's subnet 198\.18\.62\.0\/24/,
      ],
      [
        'the gateway',
        virtualMachine('bad-gateway', { annotations: { [KEY]: '198.18.62.1' } }),
        FIELD,
        /198\.18\.62\.1 is the network's gateway/,
      ],
      [
        'the network address',
        virtualMachine('bad-network', { annotations: { [KEY]: '198.18.62.0' } }),
        FIELD,
        /is the network address of 198\.18\.62\.0\/24/,
      ],
      [
        'the broadcast address',
        virtualMachine('bad-broadcast', { annotations: { [KEY]: '198.18.62.255' } }),
        FIELD,
        /is the broadcast address of 198\.18\.62\.0\/24/,
      ],
      [
        'an unknown interface',
        virtualMachine('bad-iface', {
          annotations: { 'static-ip.harvesterhci.io/eth9': '198.18.62.50' },
        }),
        'metadata.annotations[static-ip.harvesterhci.io/eth9]',
        /no interface named "eth9" with a network/,
      ],
      [
        'a network whose NAD does not exist (its subnet is unknown)',
        virtualMachine('bad-nad', { network: 'nowhere', annotations: { [KEY]: '198.18.62.50' } }),
        FIELD,
        /network-attachment-definition default\/nowhere not found: a fixed address needs its network's subnet/,
      ],
    ];
    const onPod = virtualMachine('bad-pod', { annotations: { [KEY]: '198.18.62.50' } });
    onPod.spec.template.spec.networks = [{ name: 'default', pod: {} }];
    onPod.spec.template.spec.domain.devices.interfaces = [{ name: 'default', masquerade: {} }];
    cases.push(['the pod network', onPod, FIELD, /is on the pod network/]);
    const twice = virtualMachine('bad-twice', {
      interfaces: [
        { name: 'default', network: 'lan' },
        { name: 'second', network: 'lan' },
      ],
      annotations: {
        [KEY]: '198.18.62.50',
        'static-ip.harvesterhci.io/second': '198.18.62.50',
      },
    });
    cases.push([
      'one address on two interfaces of one network',
      twice,
      'metadata.annotations[static-ip.harvesterhci.io/second]',
      /198\.18\.62\.50 is already the fixed address of interface default on the same network/,
    ]);
    for (const [what, vm, field, message] of cases) {
      await refused(
        server.client.create('VirtualMachine', { namespace: NS }, vm),
        422,
        field,
        message,
      ).catch((e: unknown) => {
        throw new Error(`${what}: ${(e as Error).message}`);
      });
    }
    // A bare VMI is checked the same way.
    await refused(
      server.client.create(
        'VirtualMachineInstance',
        { namespace: NS },
        bareVmi('bad-vmi', { [KEY]: '198.18.62.255' }),
      ),
      422,
      FIELD,
      /broadcast address/,
    );
    // An update is too, and leaves the stored VM as it was.
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('plain', { runStrategy: 'Halted' }),
    );
    await refused(
      server.client.mergePatch(
        'VirtualMachine',
        { namespace: NS, name: 'plain' },
        { metadata: { annotations: { [KEY]: '198.18.62.1' } } },
      ),
      422,
      FIELD,
      /gateway/,
    );
    assert.equal((await getVm(server.client, 'plain')).metadata.annotations?.[KEY], undefined);
    await server.client.delete('VirtualMachine', { namespace: NS, name: 'plain' });
    assert.deepEqual(await vmNames(), []);
    assert.deepEqual(
      (await server.client.list('VirtualMachineInstance', { namespace: NS })).items,
      [],
    );
    assert.deepEqual(await claims(), [], 'no claim was written');
  });

  test('VMs created at once asking for one address: exactly one 201, the others 409 naming it, no 5xx, one claim', async () => {
    const ADDRESS = '198.18.62.40';
    const names = ['race-a', 'race-b', 'race-c', 'race-d', 'race-e', 'race-f'];
    const results = await Promise.allSettled(
      names.map((name) =>
        server.client.create(
          'VirtualMachine',
          { namespace: NS },
          virtualMachine(name, { runStrategy: 'Halted', annotations: { [KEY]: ADDRESS } }),
        ),
      ),
    );
    const created = names.filter((_, i) => results[i]!.status === 'fulfilled');
    assert.equal(created.length, 1, `exactly one created: ${created}`);
    const winner = created[0]!;
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') continue;
      const e = r.reason as unknown;
      assert.ok(e instanceof ApiError, `${names[i]}: ${String(e)}`);
      assert.equal(e.status.code, 409, `${names[i]}: ${e.status.message}`);
      assert.match(
        e.status.message ?? '',
        new RegExp(`${escape(ADDRESS)} on network default/lan is in use by default/${winner} `),
      );
      assert.equal(e.status.details?.causes?.[0]?.field, FIELD);
    }
    assert.deepEqual(await vmNames(), [winner]);
    const held = await claimOf(ADDRESS);
    assert.equal(held.length, 1);
    assert.deepEqual(
      [held[0]!.spec.holder.kind, held[0]!.spec.holder.name, held[0]!.spec.holder.interface],
      ['VirtualMachine', winner, 'default'],
    );
    await server.client.delete('VirtualMachine', { namespace: NS, name: winner });
    await wait('the claim goes with its VM', async () => (await claimOf(ADDRESS)).length === 0);
  });

  test('a bare VMI holds its address: a VM asking for it gets 409 naming the VMI; once the VMI is gone the VM gets it', async () => {
    const ADDRESS = '198.18.62.41';
    await server.client.create(
      'VirtualMachineInstance',
      { namespace: NS },
      bareVmi('bare', { [KEY]: ADDRESS }),
    );
    const vmi = await wait<VirtualMachineInstance>('the bare VMI running', () =>
      runningVmi(server.client, 'bare'),
    );
    assert.equal(vmi.status?.interfaces?.[0]?.ipAddress, ADDRESS, 'the DHCP server gave it');
    const vm = virtualMachine('after-bare', { annotations: { [KEY]: ADDRESS } });
    await refused(
      server.client.create('VirtualMachine', { namespace: NS }, vm),
      409,
      FIELD,
      new RegExp(
        `${escape(ADDRESS)} on network default/lan is in use by VirtualMachineInstance default/bare \\(interface default\\)`,
      ),
    );
    await server.client.delete('VirtualMachineInstance', { namespace: NS, name: 'bare' });
    await wait(
      'the bare VMI gone',
      async () => (await getVmi(server.client, 'bare')) === undefined,
    );
    await server.client.create('VirtualMachine', { namespace: NS }, vm);
    const next = await wait<VirtualMachineInstance>('the VM running', () =>
      runningVmi(server.client, 'after-bare'),
    );
    assert.equal(next.status?.interfaces?.[0]?.ipAddress, ADDRESS);
    assert.deepEqual(
      (await claimOf(ADDRESS)).map((c) => c.spec.holder.name),
      ['after-bare'],
    );
    await server.client.delete('VirtualMachine', { namespace: NS, name: 'after-bare' });
  });

  test("a deleted VM's address is given back: its claim and the DHCP server's reservation go, and a VM without a fixed address may lease it", async () => {
    // A network of one dynamic address, which is also the fixed one: only a given-back address can be leased.
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      {
        ...bridgeNetwork('tiny', 65),
        spec: {
          config: JSON.stringify({
            cniVersion: '0.3.1',
            type: 'bridge',
            ipam: {
              subnet: '198.18.65.0/24',
              rangeStart: '198.18.65.10',
              rangeEnd: '198.18.65.10',
              gateway: '198.18.65.1',
            },
          }),
        },
      },
    );
    const ADDRESS = '198.18.65.10';
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('holder', { network: 'tiny', annotations: { [KEY]: ADDRESS } }),
    );
    const held = await wait<VirtualMachineInstance>('holder running', () =>
      runningVmi(server.client, 'holder'),
    );
    assert.equal(held.status?.interfaces?.[0]?.ipAddress, ADDRESS);
    await server.client.delete('VirtualMachine', { namespace: NS, name: 'holder' });
    await wait('the claim gone', async () => (await claimOf(ADDRESS)).length === 0);
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('dynamic', { network: 'tiny' }),
    );
    const next = await wait<VirtualMachineInstance>('a VM without a fixed address leasing it', () =>
      runningVmi(server.client, 'dynamic'),
    );
    assert.equal(next.status?.interfaces?.[0]?.ipAddress, ADDRESS);
    await server.client.delete('VirtualMachine', { namespace: NS, name: 'dynamic' });
    await wait('dynamic gone', async () => (await getVmi(server.client, 'dynamic')) === undefined);

    // A holder stopped first keeps its reservation while stopped, and gives it back when deleted.
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('stopped-holder', { network: 'tiny', annotations: { [KEY]: ADDRESS } }),
    );
    const stoppedHolder = await wait<VirtualMachineInstance>('stopped-holder running', () =>
      runningVmi(server.client, 'stopped-holder'),
    );
    assert.equal(stoppedHolder.status?.interfaces?.[0]?.ipAddress, ADDRESS);
    await server.client.stop(NS, 'stopped-holder');
    await wait(
      'stopped-holder stopped',
      async () =>
        (await getVm(server.client, 'stopped-holder')).status?.printableStatus === 'Stopped',
    );
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('waiting', { network: 'tiny' }),
    );
    await wait('waiting has a launcher but no address: the only one is reserved', async () => {
      const vmi = await getVmi(server.client, 'waiting');
      return vmi?.status?.phase === 'Running' && vmi;
    });
    assert.equal(await runningVmi(server.client, 'waiting'), false, 'no lease while reserved');
    await server.client.delete('VirtualMachine', { namespace: NS, name: 'stopped-holder' });
    await server.client.restart(NS, 'waiting');
    const after = await wait<VirtualMachineInstance>('waiting leasing it after the restart', () =>
      runningVmi(server.client, 'waiting'),
    );
    assert.equal(after.status?.interfaces?.[0]?.ipAddress, ADDRESS);
    await server.client.delete('VirtualMachine', { namespace: NS, name: 'waiting' });
    await wait('waiting gone', async () => (await getVmi(server.client, 'waiting')) === undefined);
  });

  test('a clone of a VM with a fixed address drops the annotation and runs without the address; the source keeps its claim', async () => {
    const ADDRESS = '198.18.62.42';
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('source', { annotations: { [KEY]: ADDRESS } }),
    );
    await wait('source running', () => runningVmi(server.client, 'source'));
    const clone: VirtualMachineClone = {
      apiVersion: 'clone.kubevirt.io/v1beta1',
      kind: 'VirtualMachineClone',
      metadata: { name: 'clone-source', namespace: NS },
      spec: {
        source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'source' },
        target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'copy' },
      },
    };
    await server.client.create('VirtualMachineClone', { namespace: NS }, clone);
    const done = await wait<VirtualMachineClone>('the clone finished', async () => {
      const c = await server.client.get<VirtualMachineClone>('VirtualMachineClone', {
        namespace: NS,
        name: 'clone-source',
      });
      return (c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed') && c;
    });
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    const copy = await getVm(server.client, 'copy');
    assert.equal(copy.metadata.annotations?.[KEY], undefined, 'the clone has no fixed address');
    await server.client.mergePatch(
      'VirtualMachine',
      { namespace: NS, name: 'copy' },
      { spec: { runStrategy: 'Always' } },
    );
    const running = await wait<VirtualMachineInstance>('the clone running', () =>
      runningVmi(server.client, 'copy'),
    );
    assert.notEqual(running.status?.interfaces?.[0]?.ipAddress, ADDRESS);
    assert.equal(running.metadata.annotations?.[KEY], undefined);
    assert.deepEqual(
      (await claimOf(ADDRESS)).map((c) => c.spec.holder.name),
      ['source'],
    );
    for (const name of ['copy', 'source'])
      await server.client.delete('VirtualMachine', { namespace: NS, name });
  });

  test('changing only the annotation of a running VM is RestartRequired; the running instance keeps its address until the restart applies the change', async () => {
    const FIRST = '198.18.62.43';
    const SECOND = '198.18.62.44';
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('moving', { annotations: { [KEY]: FIRST } }),
    );
    const first = await wait<VirtualMachineInstance>('moving running', () =>
      runningVmi(server.client, 'moving'),
    );
    assert.equal(first.status?.interfaces?.[0]?.ipAddress, FIRST);
    await server.client.mergePatch(
      'VirtualMachine',
      { namespace: NS, name: 'moving' },
      { metadata: { annotations: { [KEY]: SECOND } } },
    );
    const required = await wait('RestartRequired', async () => {
      const c = conditionOf(await getVm(server.client, 'moving'), 'RestartRequired');
      return c?.status === 'True' && c;
    });
    assert.match(
      required.message ?? '',
      new RegExp(`interface default: fixed address ${escape(FIRST)} → ${escape(SECOND)}`),
    );
    assert.equal(
      (await getVmi(server.client, 'moving'))?.metadata.uid,
      first.metadata.uid,
      'the running instance is left as it is',
    );
    const other = (name: string, address: string): Promise<unknown> =>
      server.client.create(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine(name, { runStrategy: 'Halted', annotations: { [KEY]: address } }),
      );
    await refused(
      other('early', FIRST),
      409,
      FIELD,
      new RegExp(`${escape(FIRST)} on network default/lan is in use by default/moving `),
    );
    await server.client.restart(NS, 'moving');
    const second = await wait<VirtualMachineInstance>('moving restarted', () =>
      runningVmi(server.client, 'moving', first.metadata.uid),
    );
    assert.equal(second.status?.interfaces?.[0]?.ipAddress, SECOND, 'the restart applied it');
    await wait(
      'RestartRequired cleared',
      async () =>
        conditionOf(await getVm(server.client, 'moving'), 'RestartRequired') === undefined,
    );
    await other('late', FIRST); // given up with the instance that used it
    // Removing it is a change too.
    await server.client.jsonPatch('VirtualMachine', { namespace: NS, name: 'moving' }, [
      { op: 'remove', path: `/metadata/annotations/${KEY.replace('/', '~1')}` },
    ]);
    const removed = await wait('RestartRequired for the removal', async () => {
      const c = conditionOf(await getVm(server.client, 'moving'), 'RestartRequired');
      return c?.status === 'True' && c;
    });
    assert.match(
      removed.message ?? '',
      new RegExp(`interface default: fixed address ${escape(SECOND)} → \\(none\\)`),
    );
    await refused(other('early', SECOND), 409, FIELD, /in use by default\/moving /);
    const third = await (async () => {
      await server.client.restart(NS, 'moving');
      return wait<VirtualMachineInstance>('moving restarted without it', () =>
        runningVmi(server.client, 'moving', second.metadata.uid),
      );
    })();
    assert.equal(third.metadata.annotations?.[KEY], undefined);
    await other('later', SECOND);
    for (const name of ['moving', 'late', 'later'])
      await server.client.delete('VirtualMachine', { namespace: NS, name });
  });
});
