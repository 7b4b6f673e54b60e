// The seed's scenarios S1–S4 and S7, end to end against a running `harrow serve`, on every runtime this machine has.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { readFileSync, readdirSync } from 'node:fs';
import type {
  AuditRecord,
  KubeEvent,
  MacAllocation,
  VirtualMachineInstance,
} from '../../src/resources/types.ts';
import { macAllocationName } from '../../src/resources/types.ts';
import {
  NS,
  bridgeNetwork,
  conditionOf,
  getVm,
  getVmi,
  guestMac,
  launcherPod,
  networkStatus,
  pingOk,
  reaches,
  runningVmi,
  specMacs,
  virtualMachine,
} from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { runtimesUnderTest } from './runtimes.ts';

const GATEWAY = '198.18.40.1';
const PEER_GATEWAY_NET = 'lan';

/** The QEMU process running a VMI's guest: its `-name guest=harrow.<instance>.<vmi uid>` names it. */
function qemuPidOf(vmiUid: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.startsWith('guest=harrow.') && a.endsWith(`.${vmiUid}`)))
        return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

for (const rt of runtimesUnderTest()) {
  describe(
    `seed scenarios on the ${rt.name} runtime`,
    { skip: rt.skip ?? false, concurrency: false },
    () => {
      let server: HarrowServer;
      const wait = <T>(fn: () => Promise<T | false | undefined>, message: string): Promise<T> =>
        waitFor(fn, {
          timeoutMs: rt.timeoutMs,
          intervalMs: rt.name === 'sim' ? 50 : 250,
          message,
        }) as Promise<T>;

      /**
       * Creates the VMs a scenario works on and waits until each runs with an address; they are deleted when the test
       * ends. Every scenario makes its own, so each runs alone (`--test-name-pattern`) as well as after the others.
       */
      const runningVms = async (
        t: TestContext,
        ...names: string[]
      ): Promise<VirtualMachineInstance[]> => {
        t.after(() => removeVms(names));
        for (const name of names)
          await server.client.create('VirtualMachine', { namespace: NS }, virtualMachine(name));
        const vmis: VirtualMachineInstance[] = [];
        for (const name of names)
          vmis.push(
            await wait(() => runningVmi(server.client, name), `${name} running with an IP`),
          );
        return vmis;
      };
      /** Deletes a scenario's VMs and waits until their instances are gone (a real guest costs the next one CPU). */
      const removeVms = async (names: string[]): Promise<void> => {
        for (const name of names)
          await server.client.delete('VirtualMachine', { namespace: NS, name }).catch(() => {});
        for (const name of names)
          await wait(
            async () => (await getVmi(server.client, name)) === undefined,
            `${name}'s instance removed`,
          );
      };
      const platformMacOf = async (name: string): Promise<string> =>
        specMacs(await getVm(server.client, name))[0]!;
      const ipOf = (vmi: VirtualMachineInstance): string => vmi.status!.interfaces![0]!.ipAddress!;

      before(async () => {
        server = await startServer({ runtime: rt.name });
        await server.client.create(
          'NetworkAttachmentDefinition',
          { namespace: NS },
          bridgeNetwork(PEER_GATEWAY_NET, 40),
        );
      });
      after(async () => {
        await server?.stop();
      });

      test('S1 create: a VM with no MAC gets a pool MAC that pod, VMI and guest all show, with a lease and the gateway reachable', async (t) => {
        t.after(() => removeVms(['vm-a', 'vm-b']));
        const created = await server.client.create(
          'VirtualMachine',
          { namespace: NS },
          virtualMachine('vm-a'),
        );
        await server.client.create('VirtualMachine', { namespace: NS }, virtualMachine('vm-b'));
        const platformMac = specMacs(created as never)[0]!;
        assert.match(
          platformMac,
          /^02:48:52:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/,
          'the manifest carries a pool MAC',
        );
        const vmi = await wait(() => runningVmi(server.client, 'vm-a'), 'vm-a running with an IP');
        const pod = await launcherPod(server.client, 'vm-a');
        assert.equal(
          networkStatus(pod).find((e) => e.name === `${NS}/lan`)?.mac,
          platformMac,
          'network-status shows the MAC',
        );
        assert.equal(vmi.status?.interfaces?.[0]?.mac, platformMac, 'VMI status shows the MAC');
        assert.equal(await guestMac(server.client, 'vm-a'), platformMac, 'the guest uses the MAC');
        assert.match(
          vmi.status?.interfaces?.[0]?.ipAddress ?? '',
          /^198\.18\.40\.\d+$/,
          'the guest holds a DHCP lease',
        );
        assert.ok(await reaches(server.client, 'vm-a', GATEWAY), 'the guest reaches its gateway');
        const peer = await wait(() => runningVmi(server.client, 'vm-b'), 'vm-b running with an IP');
        assert.ok(
          await reaches(server.client, 'vm-a', ipOf(peer)),
          'the guest reaches a second VM on its network',
        );
      });

      test('S2 display: the VM, the VMI, the CLI and network-status agree on the platform MAC', async (t) => {
        await runningVms(t, 'display-a');
        const platformMac = await platformMacOf('display-a');
        const vm = await getVm(server.client, 'display-a');
        const vmi = await getVmi(server.client, 'display-a');
        const pod = await launcherPod(server.client, 'display-a');
        const cliVm = await server.cli(['get', 'vm', 'display-a']);
        const cliVmi = await server.cli(['get', 'vmi', 'display-a', '-o', 'json']);
        assert.equal(cliVm.code, 0, cliVm.stderr);
        assert.equal(cliVmi.code, 0, cliVmi.stderr);
        assert.equal(specMacs(vm)[0], platformMac);
        assert.equal(vmi?.status?.interfaces?.[0]?.mac, platformMac);
        assert.equal(networkStatus(pod)[0]?.mac, platformMac);
        assert.ok(
          cliVm.stdout.includes(platformMac),
          `harrow get vm shows ${platformMac}:\n${cliVm.stdout}`,
        );
        assert.equal(JSON.parse(cliVmi.stdout).status.interfaces[0].mac, platformMac);
        // The lease the network's DHCP server holds for the platform MAC, in the API and in describe.
        const leased = await wait(async () => {
          const v = await getVmi(server.client, 'display-a');
          const lease = v?.status?.interfaces?.[0]?.lease;
          return lease?.macAddress === platformMac ? lease : undefined;
        }, 'the VMI status shows the DHCP lease for the platform MAC');
        assert.equal(
          leased.ip,
          vmi?.status?.interfaces?.[0]?.ipAddress,
          'the lease is for the address the guest uses',
        );
        const described = await server.cli(['describe', 'vm', 'display-a']);
        assert.equal(described.code, 0, described.stderr);
        for (const part of [`Platform MAC:`, `Guest MAC:`, leased.ip, `Lease:`, platformMac]) {
          assert.ok(
            described.stdout.includes(part),
            `describe shows ${part}:\n${described.stdout}`,
          );
        }
      });

      test('S3 in-guest change: the platform MAC stays, drift is reported with its remedy, connectivity breaks; a restart restores it all', async (t) => {
        const [, peer] = await runningVms(t, 'drift-a', 'drift-b');
        const platformMac = await platformMacOf('drift-a');
        const peerIp = ipOf(peer!);
        const changed = '02:00:00:00:0a:99';
        const exec = await server.client.guestExec(NS, 'drift-a', [
          'ip',
          'link',
          'set',
          'eth0',
          'address',
          changed,
        ]);
        assert.equal(exec.exitCode, 0, exec.stderr);
        const before = await getVmi(server.client, 'drift-a');
        const vmi = await wait(async () => {
          const v = await getVmi(server.client, 'drift-a');
          return conditionOf(v, 'GuestMACMismatch')?.status === 'True' ? v : false;
        }, 'GuestMACMismatch on the VMI');
        const message = conditionOf(vmi, 'GuestMACMismatch')!.message ?? '';
        assert.ok(
          message.includes(platformMac) && message.includes(changed),
          `the message names both MACs: ${message}`,
        );
        assert.match(message, /restart/i, 'the message gives the remedy');
        assert.equal(
          specMacs(await getVm(server.client, 'drift-a'))[0],
          platformMac,
          'the manifest is untouched',
        );
        assert.equal(
          vmi.status?.interfaces?.[0]?.mac,
          platformMac,
          'the platform still shows its MAC',
        );
        assert.equal(
          networkStatus(await launcherPod(server.client, 'drift-a'))[0]?.mac,
          platformMac,
        );
        assert.equal(
          await guestMac(server.client, 'drift-a'),
          changed,
          'the guest uses the changed MAC',
        );
        assert.equal(
          await pingOk(server.client, 'drift-a', GATEWAY),
          false,
          'connectivity is broken',
        );
        assert.equal(
          await pingOk(server.client, 'drift-a', peerIp),
          false,
          'the second VM is out of reach',
        );
        await wait(
          async () =>
            conditionOf(await getVm(server.client, 'drift-a'), 'GuestMACMismatch')?.status ===
            'True',
          'mismatch mirrored on the VM',
        );

        await server.client.restart(NS, 'drift-a');
        const restarted = await wait(
          () => runningVmi(server.client, 'drift-a', before?.metadata.uid),
          'drift-a running again',
        );
        assert.equal(
          await guestMac(server.client, 'drift-a'),
          platformMac,
          'the guest has the platform MAC again',
        );
        assert.ok(await reaches(server.client, 'drift-a', GATEWAY), 'connectivity is back');
        assert.ok(
          await reaches(server.client, 'drift-a', peerIp),
          'the second VM is reachable again',
        );
        assert.equal(
          conditionOf(restarted, 'GuestMACMismatch'),
          undefined,
          'the condition is cleared',
        );
      });

      test("a guest that takes another VM's MAC is reported naming both VMs, and its frames do not reach the network", async (t) => {
        const [, peer] = await runningVms(t, 'steal-a', 'steal-b');
        const victimMac = specMacs(await getVm(server.client, 'steal-b'))[0]!;
        const before = await getVmi(server.client, 'steal-a');
        const exec = await server.client.guestExec(NS, 'steal-a', [
          'ip',
          'link',
          'set',
          'eth0',
          'address',
          victimMac,
        ]);
        assert.equal(exec.exitCode, 0, exec.stderr);
        const vmi = await wait(async () => {
          const v = await getVmi(server.client, 'steal-a');
          return conditionOf(v, 'GuestMACMismatch')?.status === 'True' ? v : false;
        }, 'GuestMACMismatch for a stolen MAC');
        const message = conditionOf(vmi, 'GuestMACMismatch')!.message ?? '';
        assert.ok(
          message.includes('steal-a') && message.includes('steal-b') && message.includes(victimMac),
          `both VMs named: ${message}`,
        );
        assert.equal(
          await pingOk(server.client, 'steal-a', GATEWAY),
          false,
          'the impostor reaches nothing',
        );
        assert.ok(
          await reaches(server.client, 'steal-b', GATEWAY),
          'the real holder is unaffected',
        );
        await server.client.restart(NS, 'steal-a');
        await wait(
          () => runningVmi(server.client, 'steal-a', before?.metadata.uid),
          'steal-a restarted',
        );
        assert.ok(
          await reaches(server.client, 'steal-a', ipOf(peer!)),
          'after the restart the two VMs reach each other again',
        );
      });

      test('S4 proper change: PATCH → RestartRequired, the guest unchanged until restart, then the new MAC everywhere, checked and audited', async (t) => {
        await runningVms(t, 'change-a');
        const oldMac = await platformMacOf('change-a');
        const newMac = '02:48:52:fe:00:01';
        const running = await getVmi(server.client, 'change-a');
        await server.client.jsonPatch('VirtualMachine', { namespace: NS, name: 'change-a' }, [
          {
            op: 'test',
            path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
            value: oldMac,
          },
          {
            op: 'replace',
            path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
            value: newMac,
          },
        ]);
        assert.equal(
          specMacs(await getVm(server.client, 'change-a'))[0],
          newMac,
          'the manifest is persisted',
        );
        await wait(
          async () =>
            conditionOf(await getVm(server.client, 'change-a'), 'RestartRequired')?.status ===
            'True',
          'RestartRequired',
        );
        assert.equal(
          await guestMac(server.client, 'change-a'),
          oldMac,
          'the running guest is unchanged',
        );
        assert.equal(
          (await getVmi(server.client, 'change-a'))?.metadata.uid,
          running?.metadata.uid,
          'no restart happened by itself',
        );

        await server.client.restart(NS, 'change-a');
        const vmi = await wait(
          () => runningVmi(server.client, 'change-a', running?.metadata.uid),
          'change-a running with the new MAC',
        );
        assert.equal(vmi.status?.interfaces?.[0]?.mac, newMac, 'VMI shows the new MAC');
        assert.equal(
          networkStatus(await launcherPod(server.client, 'change-a'))[0]?.mac,
          newMac,
          'the pod interface has the new MAC',
        );
        assert.equal(
          await guestMac(server.client, 'change-a'),
          newMac,
          'the guest has the new MAC',
        );
        assert.ok(
          await reaches(server.client, 'change-a', GATEWAY),
          'connectivity with the new MAC',
        );
        const vm = await wait(async () => {
          const v = await getVm(server.client, 'change-a');
          return conditionOf(v, 'ConnectivityCheck')?.status === 'True' &&
            conditionOf(v, 'RestartRequired') === undefined
            ? v
            : false;
        }, 'connectivity check passed and RestartRequired cleared');
        assert.match(conditionOf(vm, 'ConnectivityCheck')?.message ?? '', new RegExp(newMac));
        const old = await wait(async () => {
          const a = await server.client.get<MacAllocation>('MacAllocation', {
            name: macAllocationName(oldMac),
          });
          return a.status.state === 'Quarantined' ? a : false;
        }, 'the old MAC quarantined');
        assert.ok(Date.parse(old.status.quarantineUntil!) > Date.now());
        const audit = await server.client.listAll<AuditRecord>('AuditRecord', { namespace: NS });
        const patch = audit.find(
          (r) =>
            r.spec.verb === 'patch' &&
            r.spec.resource.name === 'change-a' &&
            r.spec.changes?.some((c) => c.old === oldMac && c.new === newMac),
        );
        assert.ok(patch, 'the audit log records old → new');
        const check = audit.find(
          (r) => r.spec.verb === 'connectivity-check' && r.spec.resource.name === 'change-a',
        );
        assert.ok(
          check?.spec.connectivity?.ok,
          `the audit log records the connectivity check: ${JSON.stringify(check?.spec)}`,
        );
        assert.equal(check?.spec.connectivity?.macAddress, newMac);
      });

      test(
        'a guest whose QEMU is killed: the VMI fails, and under runStrategy Always the VM runs again with the same MAC',
        {
          skip:
            rt.name === 'qemu'
              ? false
              : 'sim guests crash only through the in-process hook (test/unit/controllers-vm.test.ts)',
        },
        async (t) => {
          await runningVms(t, 'crash-b');
          const before = await getVmi(server.client, 'crash-b');
          const mac = specMacs(await getVm(server.client, 'crash-b'))[0]!;
          const pid = qemuPidOf(before!.metadata.uid!);
          assert.ok(pid, `a QEMU process for crash-b's VMI ${before!.metadata.uid}`);
          process.kill(pid, 'SIGKILL');
          const vmi = await wait(
            () => runningVmi(server.client, 'crash-b', before?.metadata.uid),
            'crash-b running again in a new VMI',
          );
          assert.equal(
            vmi.status?.interfaces?.[0]?.mac,
            mac,
            'the new VMI has the same platform MAC',
          );
          assert.equal(
            networkStatus(await launcherPod(server.client, 'crash-b'))[0]?.mac,
            mac,
            'the new pod interface has the same MAC',
          );
          assert.equal(
            await guestMac(server.client, 'crash-b'),
            mac,
            'the new guest has the same MAC',
          );
          assert.ok(await reaches(server.client, 'crash-b', GATEWAY), 'and is connected');
          const events = await server.client.listAll<KubeEvent>('Event', { namespace: NS });
          const failed = events.find(
            (e) =>
              e.involvedObject.name === before!.metadata.name &&
              e.reason === 'Failed' &&
              /crashed/.test(e.message),
          );
          assert.ok(
            failed,
            `a Failed event for the crashed VMI: ${JSON.stringify(events.map((e) => [e.involvedObject.name, e.reason, e.message]))}`,
          );
        },
      );

      test('S7 restart of Harrow: every VM, MAC, allocation and audit record survives, and running VMs reconcile', async (t) => {
        await runningVms(t, 'restart-a');
        const platformMac = await platformMacOf('restart-a');
        const vmBefore = await getVm(server.client, 'restart-a');
        const allocBefore = (await server.client.listAll('MacAllocation')).length;
        const auditBefore = (await server.client.listAll('AuditRecord', { namespace: NS })).length;
        await server.restart();
        const vm = await getVm(server.client, 'restart-a');
        assert.equal(vm.metadata.uid, vmBefore.metadata.uid);
        assert.deepEqual(specMacs(vm), specMacs(vmBefore));
        assert.equal((await server.client.listAll('MacAllocation')).length, allocBefore);
        assert.ok(
          (await server.client.listAll('AuditRecord', { namespace: NS })).length >= auditBefore,
        );
        await wait(
          () => runningVmi(server.client, 'restart-a'),
          'restart-a running after Harrow restarted',
        );
        assert.equal(await guestMac(server.client, 'restart-a'), platformMac);
        assert.ok(await reaches(server.client, 'restart-a', GATEWAY));
      });
    },
  );
}
