// Issue 16's cases as the sim scenarios and the Debian guests both check them: what a MAC pinned by the guest's
// /etc/network/interfaces must be reported as, and what a user networkData matching the old MAC must produce (kubectl's
// warning, the failed check's cause). One statement of each expectation, whichever runtime produced it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GuestMacMismatch, VirtualMachine } from '../../src/resources/types.ts';
import { NS, conditionOf } from './fixtures.ts';
import type { HarrowServer } from './harness.ts';

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A v2 network-config naming the NIC by the MAC it has (`set-name: lan0`); its line 5 is the match. */
export const matchingNetworkData = (mac: string): string =>
  `version: 2\nethernets:\n  lan:\n    match:\n      macaddress: "${mac}"\n    set-name: lan0\n    dhcp4: true\n`;

/** The drift record of a guest whose ifupdown pins `rogue` (pinningInterfaces): set by its OS, line 6 named. */
export function assertPinnedByInterfaces(
  record: GuestMacMismatch,
  rogue: string,
  platformMac: string,
): void {
  assert.equal(record.guestMac, rogue);
  assert.equal(record.platformMac, platformMac, 'the restart gave the NIC the platform MAC');
  assert.equal(record.cause, 'GuestOSConfiguration');
  assert.deepEqual(record.setBy, {
    path: '/etc/network/interfaces',
    line: 6,
    text: `hwaddress ether ${rogue}`,
  });
  assert.deepEqual(
    record.remedies.map((r) => [r.action, r.available]),
    [
      ['restore-mac', false],
      ['adopt-guest-mac', true],
    ],
  );
}

/** The VM's GuestMACMismatch message for that drift: who sets the MAC, where, and that a restart will not help. */
export function assertPinnedMessage(vm: VirtualMachine, rogue: string): void {
  const condition = conditionOf(vm, 'GuestMACMismatch');
  assert.equal(condition?.reason, 'GuestOSConfiguration');
  const message = condition?.message ?? '';
  assert.match(message, new RegExp(`The guest's OS configuration sets ${escape(rogue)} at boot`));
  assert.match(message, /\/etc\/network\/interfaces line 6/);
  assert.match(message, /a restart will not restore/);
}

/** `kubectl patch` of the VM's first interface's MAC (the server must speak TLS); kubectl's stderr. */
export async function kubectlPatchMac(
  server: HarrowServer,
  vm: string,
  mac: string,
): Promise<string> {
  const patch = [
    {
      op: 'replace',
      path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
      value: mac,
    },
  ];
  const r = await promisify(execFile)('kubectl', [
    '--kubeconfig',
    server.kubeconfig,
    '-n',
    NS,
    'patch',
    'vm',
    vm,
    '--type=json',
    '-p',
    JSON.stringify(patch),
  ]);
  return r.stderr;
}

/** kubectl's Warning for a MAC change that matchingNetworkData(old) still matches. */
export function assertStaleMatchWarning(stderr: string, old: string, mac: string): void {
  assert.match(
    stderr,
    new RegExp(
      escape(
        `Warning: interface default: its MAC changes from ${old} to ${mac}, but ` +
          `spec.template.spec.volumes[1].cloudInitNoCloud.networkData line 5 (macaddress: "${old}") still matches`,
      ),
    ),
  );
}

/** The failed check after that change was applied anyway: no lease, no address, the matching line as the cause. */
export function assertStaleMatchCheck(vm: VirtualMachine, old: string): void {
  const condition = conditionOf(vm, 'ConnectivityCheck');
  assert.equal(condition?.status, 'False', condition?.message);
  const result = vm.status!.connectivityCheck!.results[0]!;
  assert.deepEqual(result.failed, ['lease', 'address'], JSON.stringify(result));
  assert.deepEqual(result.cause, {
    reason: 'NetworkConfigMatchesOldMAC',
    macAddress: old,
    field: 'spec.template.spec.volumes[1].cloudInitNoCloud.networkData',
    line: 5,
    text: `macaddress: "${old}"`,
  });
  assert.match(
    condition?.message ?? '',
    new RegExp(
      `likely cause: the cloud-init network-config still matches the old MAC ${escape(old)}`,
    ),
  );
}
