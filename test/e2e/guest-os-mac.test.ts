// The MAC pitfalls of real operating systems (issue 16), through a running `harrow serve` on the sim runtime, whose guest
// configures its network from its own files as a Debian guest does: a MAC the guest's OS pins survives a restart and is
// explained as such; Harrow's generated network-config follows a MAC change; a user network-config matched on the old
// MAC is warned about and named by the failed check.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openImageStore } from '../../src/images/store.ts';
import type { VirtualMachineInstance } from '../../src/resources/types.ts';
import { NS, bridgeNetwork, conditionOf, getVm, getVmi, runningVmi } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import {
  assertPinnedByInterfaces,
  assertPinnedMessage,
  assertStaleMatchCheck,
  assertStaleMatchWarning,
  kubectlPatchMac,
  matchingNetworkData,
} from './os-mac-pitfalls.ts';
import { osVm, pinningInterfaces } from './os-vms.ts';

const ROGUE = '02:aa:16:00:00:01';
const GATEWAY = '198.18.48.1';

describe('MAC pitfalls of real guests (sim)', { concurrency: false }, () => {
  let server: HarrowServer;
  let imageDir: string;
  const wait = <T>(what: string, probe: () => Promise<T | false | undefined>) =>
    waitFor(async () => (await probe()) ?? false, {
      timeoutMs: 30_000,
      intervalMs: 50,
      message: what,
    }) as Promise<T>;
  const exec = (vm: string, argv: string[]) => server.client.guestExec(NS, vm, argv);
  const running = (vm: string, notUid?: string) =>
    wait<VirtualMachineInstance>(`${vm} running with an IP`, () =>
      runningVmi(server.client, vm, notUid),
    );
  /** A new instance of the VM (after a restart) whose guest agent answers, with or without an IP. */
  const nextInstance = (vm: string, notUid: string) =>
    wait<VirtualMachineInstance>(`a new instance of ${vm} with its agent`, async () => {
      const vmi = await getVmi(server.client, vm);
      return (
        vmi?.status?.phase === 'Running' &&
        vmi.metadata.uid !== notUid &&
        conditionOf(vmi, 'AgentConnected')?.status === 'True' &&
        vmi
      );
    });

  before(async () => {
    imageDir = mkdtempSync(join(tmpdir(), 'g16-os-images-'));
    writeFileSync(join(imageDir, 'os.raw'), Buffer.alloc(1024 * 1024));
    await openImageStore(join(imageDir, 'store')).import('os', join(imageDir, 'os.raw'), {
      aliases: ['quay.io/containerdisks/os:1'],
    });
    server = await startServer({
      runtime: 'sim',
      // TLS, so kubectl sends its token and prints the server's warnings.
      args: ['--tls', 'auto'],
      env: { HARROW_IMAGE_DIR: join(imageDir, 'store') },
    });
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 48),
    );
  });
  after(async () => {
    await server?.stop();
    if (imageDir) rmSync(imageDir, { recursive: true, force: true });
  });

  test("a MAC pinned by the guest's /etc/network/interfaces survives restore-by-restart; the condition names the file; adopt + restart gives one MAC and connectivity", async () => {
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      osVm('pin', 'quay.io/containerdisks/os:1', { root: 'dataVolume' }),
    );
    const first = await running('pin');
    const platformMac = first.status!.interfaces![0]!.mac!;
    // As a user would: pin a MAC in the guest's ifupdown configuration and apply it now.
    const write = await exec('pin', [
      'sh',
      '-c',
      `printf '${pinningInterfaces(ROGUE).replaceAll('\n', '\\n')}' > /etc/network/interfaces && ip link set dev eth0 address ${ROGUE}`,
    ]);
    assert.equal(write.exitCode, 0, write.stderr);
    const drifted = await wait('the drift is detected', async () => {
      const vmi = await getVmi(server.client, 'pin');
      return vmi?.status?.interfaces?.[0]?.guestMacMismatch && vmi;
    });
    assert.equal(drifted.status!.interfaces![0]!.guestMacMismatch!.cause, 'GuestChangedMAC');

    await server.client.restoreMac(NS, 'pin');
    const second = await nextInstance('pin', first.metadata.uid!);
    const record = await wait('the drift is back and explained', async () => {
      const vmi = await getVmi(server.client, 'pin');
      const r =
        vmi?.metadata.uid === second.metadata.uid && vmi?.status?.interfaces?.[0]?.guestMacMismatch;
      return r && r.cause === 'GuestOSConfiguration' && r.setBy ? r : undefined;
    });
    assertPinnedByInterfaces(record, ROGUE, platformMac);
    const vm = await wait('the VM shows the condition', async () => {
      const v = await getVm(server.client, 'pin');
      const c = conditionOf(v, 'GuestMACMismatch');
      return c?.reason === 'GuestOSConfiguration' && v;
    });
    assertPinnedMessage(vm, ROGUE);
    const described = await server.cli(['describe', 'vm', 'pin']);
    assert.match(described.stdout, /\/etc\/network\/interfaces line 6/);

    await server.client.adoptGuestMac(NS, 'pin');
    await server.client.restart(NS, 'pin');
    const third = await running('pin', second.metadata.uid);
    const pod = third.status!.interfaces![0]!;
    assert.equal(pod.mac, ROGUE, 'the VMI (from the pod) has the adopted MAC');
    assert.equal(pod.guestMac, ROGUE, 'the guest uses it');
    assert.equal(pod.guestMacMismatch, undefined);
    const check = await wait('the connectivity check passes', async () => {
      const v = await getVm(server.client, 'pin');
      return conditionOf(v, 'ConnectivityCheck');
    });
    assert.equal(check.status, 'True', check.message);
    assert.equal((await exec('pin', ['ping', '-c', '1', GATEWAY])).exitCode, 0);
  });
  test("Harrow's generated network-config follows a MAC change through the manifest: new MAC in the config, new instance-id, the check passes", async () => {
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      osVm('gen', 'quay.io/containerdisks/os:1', { root: 'dataVolume' }),
    );
    const first = await running('gen');
    const oldMac = first.status!.interfaces![0]!.mac!;
    const vm = await getVm(server.client, 'gen');
    const cat = async (path: string) => (await exec('gen', ['cat', path])).stdout;
    const firstId = (await cat('/var/lib/cloud/data/instance-id')).trim();
    assert.match(firstId, new RegExp(`^${vm!.metadata.uid}-[0-9a-f]{12}$`));
    assert.ok((await cat('/etc/udev/rules.d/70-persistent-net.rules')).includes(oldMac));

    const NEW = '02:aa:16:00:00:21';
    const set = await server.cli(['set-mac', 'gen', 'default', NEW, '--restart', '--wait']);
    assert.equal(set.code, 0, set.stderr);
    assert.doesNotMatch(set.stderr, /Warning/, 'no user networkData, nothing to warn about');
    const second = await running('gen', first.metadata.uid);
    assert.equal(second.status!.interfaces![0]!.mac, NEW);
    const check = await wait('the connectivity check', async () =>
      conditionOf(await getVm(server.client, 'gen'), 'ConnectivityCheck'),
    );
    assert.equal(check.status, 'True', check.message);
    const secondId = (await cat('/var/lib/cloud/data/instance-id')).trim();
    assert.notEqual(secondId, firstId, 'a new instance-id: cloud-init applied the new config');
    assert.ok(secondId.startsWith(`${vm!.metadata.uid}-`));
    const rules = await cat('/etc/udev/rules.d/70-persistent-net.rules');
    assert.ok(rules.includes(NEW), rules);
    assert.ok(!rules.includes(oldMac), rules);
  });

  test('user networkData matching the MAC: kubectl warns naming the line, the change is stored, and the failed check names lease, address and the stale match', async () => {
    const OLD = '02:aa:16:00:00:31';
    const NEW = '02:aa:16:00:00:32';
    const networkData = matchingNetworkData(OLD);
    const manifest = osVm('ncfg', 'quay.io/containerdisks/os:1', {
      root: 'dataVolume',
      networkData,
      mac: OLD,
    });
    await server.client.create('VirtualMachine', { namespace: NS }, manifest);
    const first = await running('ncfg');
    assert.equal(first.status!.interfaces![0]!.interfaceName, 'lan0', 'configured on its MAC');

    assertStaleMatchWarning(await kubectlPatchMac(server, 'ncfg', NEW), OLD, NEW);
    const stored = await getVm(server.client, 'ncfg');
    assert.equal(
      stored!.spec.template.spec.domain.devices.interfaces![0]!.macAddress,
      NEW,
      'a warning, not a refusal',
    );

    await server.client.restart(NS, 'ncfg');
    const second = await nextInstance('ncfg', first.metadata.uid!);
    assert.equal(second.status!.interfaces![0]!.mac, NEW);
    // After the agent, the lease and the gateway have 60 s before the check fails.
    const vm = await waitFor(
      async () => {
        const v = await getVm(server.client, 'ncfg');
        return conditionOf(v, 'ConnectivityCheck') && v;
      },
      { timeoutMs: 180_000, intervalMs: 250, message: 'the connectivity check fails' },
    );
    assertStaleMatchCheck(vm, OLD);
  });
});
