// Objects shaped as Harrow serves them (VM, VMI, launcher Pod with network-status), for the CLI's unit tests.
import type { CliIO } from '../../src/cli/context.ts';
import { run } from '../../src/cli/program.ts';
import { mismatchMessage, remediesFor } from '../../src/network/drift.ts';
import type { Condition } from '../../src/resources/meta.ts';
import type {
  Pod,
  VirtualMachine,
  VirtualMachineInstance,
  VMIInterfaceStatus,
} from '../../src/resources/types.ts';

export const NOW = new Date('2026-01-01T12:00:00Z');

export function vmFixture(
  name: string,
  interfaces: Array<{ name: string; mac?: string; network?: string }>,
  extra: Partial<VirtualMachine['status']> = {},
): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      creationTimestamp: '2026-01-01T11:55:00Z',
    },
    spec: {
      runStrategy: 'Always',
      template: {
        spec: {
          domain: {
            devices: {
              interfaces: interfaces.map((i) => ({
                name: i.name,
                bridge: {},
                ...(i.mac ? { macAddress: i.mac } : {}),
              })),
            },
          },
          networks: interfaces.map((i) =>
            i.network
              ? { name: i.name, multus: { networkName: i.network } }
              : { name: i.name, pod: {} },
          ),
        },
      },
    },
    status: { printableStatus: 'Running', ready: true, ...extra },
  };
}

export function vmiFixture(
  vm: VirtualMachine,
  statuses: VMIInterfaceStatus[],
  conditions: Condition[] = [],
): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: vm.metadata.name, namespace: 'default', uid: `vmi-${vm.metadata.name}` },
    spec: structuredClone(vm.spec.template.spec),
    status: { phase: 'Running', nodeName: 'node-1', interfaces: statuses, conditions },
  };
}

export function podFixture(vmi: VirtualMachineInstance, networkStatus: unknown[]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `virt-launcher-${vmi.metadata.name}-abcde`,
      namespace: 'default',
      labels: { 'vm.kubevirt.io/name': vmi.metadata.name },
      annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(networkStatus) },
      ownerReferences: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          name: vmi.metadata.name,
          uid: vmi.metadata.uid!,
        },
      ],
      creationTimestamp: '2026-01-01T11:56:00Z',
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'compute', image: 'virt-launcher' }] },
    status: { phase: 'Running' },
  };
}

/** The status.interfaces the observer writes for that guest: the declared guestMac and its mismatch record. */
function driftedStatuses(): VMIInterfaceStatus[] {
  return [
    {
      name: 'default',
      mac: '02:00:00:00:00:01',
      podInterfaceName: 'eth0',
      guestMac: '02:00:00:00:00:99',
      infoSource: 'domain',
      guestMacMismatch: {
        platformMac: '02:00:00:00:00:01',
        guestMac: '02:00:00:00:00:99',
        since: '2026-12-04T10:00:00.000Z',
        cause: 'GuestChangedMAC',
        remedies: remediesFor('02:00:00:00:00:01', '02:00:00:00:00:99', undefined),
      },
    },
    {
      interfaceName: 'eth0',
      mac: '02:00:00:00:00:99',
      ipAddresses: [],
      infoSource: 'guest-agent',
    },
    {
      interfaceName: 'lo',
      mac: '00:00:00:00:00:00',
      ipAddresses: ['127.0.0.1'],
      infoSource: 'guest-agent',
    },
  ];
}

/** The GuestMACMismatch message the observer renders from those records. */
export const MISMATCH_MESSAGE = mismatchMessage('default', 'vm-a', driftedStatuses()) as string;

/** A guest that changed eth0's MAC from the platform's 02:00:00:00:00:01 to 02:00:00:00:00:99 (KubeVirt's status shape plus
 * Harrow's `guestMac`, as the observer writes it). */
export function driftedVm(): { vm: VirtualMachine; vmi: VirtualMachineInstance; pod: Pod } {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:01' }]);
  const statuses = driftedStatuses();
  const vmi = vmiFixture(vm, statuses, [
    {
      type: 'GuestMACMismatch',
      status: 'True',
      reason: 'GuestChangedMAC',
      message: MISMATCH_MESSAGE,
    },
  ]);
  const pod = podFixture(vmi, [
    {
      name: 'harrow-pod-network',
      interface: 'eth0',
      mac: '02:00:00:00:00:01',
      default: true,
      ips: ['198.19.1.5'],
    },
  ]);
  return { vm, vmi, pod };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the harrow CLI in this process with captured output, `env` as its whole environment and `cwd` as its directory. */
export async function runCliInProcess(
  args: string[],
  options: { env: Record<string, string>; cwd: string; stdin?: string },
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin: async function* () {
      if (options.stdin !== undefined) yield options.stdin;
    },
    env: options.env,
    cwd: options.cwd,
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}
