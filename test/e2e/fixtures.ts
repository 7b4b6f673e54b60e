// Manifests and lookups shared by the scenario tests: a bridge network, VMs on it, conditions, the launcher pod.
import type { HarrowClient } from '../../src/client/client.ts';
import type { Condition, KubeObject } from '../../src/resources/meta.ts';
import {
  ANNOTATION_NETWORK_STATUS,
  type NetworkStatusEntry,
  type Pod,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../../src/resources/types.ts';
import { waitFor } from './harness.ts';

export const NS = 'default';

/** A VM manifest as a user writes it for `harrow create -f -`: one bridge interface on the pod network with its MAC. */
export const vmYaml = (
  name: string,
  mac: string,
  runStrategy = 'Halted',
): string => `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: ${name}
spec:
  runStrategy: ${runStrategy}
  template:
    spec:
      domain:
        devices:
          interfaces:
          - name: default
            bridge: {}
            macAddress: "${mac}"
      networks:
      - name: default
        pod: {}
`;

/** A running VM with one bridge interface on the pod network (no NetworkAttachmentDefinition needed). */
export const podNetworkVm = (name: string, namespace = NS): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace },
  spec: {
    runStrategy: 'Always',
    template: {
      spec: {
        domain: { devices: { interfaces: [{ name: 'default', bridge: {} }] } },
        networks: [{ name: 'default', pod: {} }],
      },
    },
  },
});

/** A bridge NetworkAttachmentDefinition with its own /24 in 198.18.0.0/15; the gateway is .1. */
export function bridgeNetwork(name: string, third: number): KubeObject {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace: NS },
    spec: {
      config: JSON.stringify({
        cniVersion: '0.3.1',
        type: 'bridge',
        ipam: {
          subnet: `198.18.${third}.0/24`,
          rangeStart: `198.18.${third}.10`,
          rangeEnd: `198.18.${third}.200`,
          gateway: `198.18.${third}.1`,
        },
      }),
    },
  };
}

export interface VmOptions {
  network?: string;
  mac?: string;
  runStrategy?: string;
  interfaces?: Array<{ name: string; network: string; mac?: string }>;
  annotations?: Record<string, string>;
}

/** A KubeVirt VirtualMachine with bridge-bound interfaces on multus networks. */
export function virtualMachine(name: string, o: VmOptions = {}): VirtualMachine {
  const ifaces = o.interfaces ?? [
    { name: 'default', network: o.network ?? 'lan', ...(o.mac ? { mac: o.mac } : {}) },
  ];
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      runStrategy: (o.runStrategy ?? 'Always') as VirtualMachine['spec']['runStrategy'],
      template: {
        metadata: { labels: { 'kubevirt.io/vm': name } },
        spec: {
          domain: {
            cpu: { cores: 1 },
            memory: { guest: '128Mi' },
            devices: {
              interfaces: ifaces.map((i) => ({
                name: i.name,
                bridge: {},
                ...(i.mac ? { macAddress: i.mac } : {}),
              })),
            },
          },
          networks: ifaces.map((i) => ({ name: i.name, multus: { networkName: i.network } })),
        },
      },
    },
  };
}

export const specMacs = (vm: VirtualMachine): Array<string | undefined> =>
  (vm.spec.template.spec.domain.devices.interfaces ?? []).map((i) => i.macAddress);

export const conditionOf = (o: KubeObject | undefined, type: string): Condition | undefined =>
  ((o?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find(
    (c) => c.type === type,
  );

export async function getVm(client: HarrowClient, name: string): Promise<VirtualMachine> {
  return client.get<VirtualMachine>('VirtualMachine', { namespace: NS, name });
}

export async function getVmi(
  client: HarrowClient,
  name: string,
): Promise<VirtualMachineInstance | undefined> {
  try {
    return await client.get<VirtualMachineInstance>('VirtualMachineInstance', {
      namespace: NS,
      name,
    });
  } catch {
    return undefined;
  }
}

/** The VMI once it runs with the guest agent reporting an IP on its first interface. */
export async function runningVmi(
  client: HarrowClient,
  name: string,
  notUid?: string,
): Promise<VirtualMachineInstance | false> {
  const vmi = await getVmi(client, name);
  if (!vmi || vmi.status?.phase !== 'Running' || vmi.metadata.uid === notUid) return false;
  // Running with its DHCP lease: a link-local address alone (up before the lease) is not enough.
  const ip = vmi.status.interfaces?.[0]?.ipAddress;
  return ip && !ip.startsWith('fe80:') && !ip.startsWith('169.254.') ? vmi : false;
}

/** Network `lan` (198.18.<third>.0/24) and VM `name` with `mac` on it, once it runs with its address. */
export async function runningVmOnLan(
  client: HarrowClient,
  name: string,
  o: { mac: string; third: number; timeoutMs: number },
): Promise<VirtualMachineInstance> {
  await client.create(
    'NetworkAttachmentDefinition',
    { namespace: NS },
    bridgeNetwork('lan', o.third),
  );
  await client.create('VirtualMachine', { namespace: NS }, virtualMachine(name, { mac: o.mac }));
  return waitFor(() => runningVmi(client, name), {
    timeoutMs: o.timeoutMs,
    message: `${name} running with an address`,
  });
}

export async function launcherPod(client: HarrowClient, vm: string): Promise<Pod | undefined> {
  const pods = await client.list<Pod>('Pod', {
    namespace: NS,
    labelSelector: `vm.kubevirt.io/name=${vm}`,
  });
  return pods.items.find(
    (p) =>
      p.metadata.deletionTimestamp === undefined &&
      p.metadata.annotations?.[ANNOTATION_NETWORK_STATUS],
  );
}

export function networkStatus(pod: Pod | undefined): NetworkStatusEntry[] {
  const raw = pod?.metadata.annotations?.[ANNOTATION_NETWORK_STATUS];
  return raw ? (JSON.parse(raw) as NetworkStatusEntry[]) : [];
}

/** What the guest itself says its eth0 MAC is (through the guest agent, as a user inside would see it). */
export async function guestMac(client: HarrowClient, vm: string, dev = 'eth0'): Promise<string> {
  const r = await client.guestExec(NS, vm, ['cat', `/sys/class/net/${dev}/address`]);
  return r.stdout.trim();
}

export async function pingOk(client: HarrowClient, vm: string, ip: string): Promise<boolean> {
  const r = await client.guestExec(NS, vm, ['ping', '-c', '1', '-W', '2', ip]);
  return r.exitCode === 0;
}

/**
 * Whether the guest reaches `ip` within a few tries: one lost ping proves nothing under TCG on a loaded machine, so
 * positive checks retry (negative ones — "connectivity is broken" — use pingOk once, after the change took effect).
 */
export async function reaches(
  client: HarrowClient,
  vm: string,
  ip: string,
  tries = 5,
): Promise<boolean> {
  for (let i = 0; i < tries; i++) if (await pingOk(client, vm, ip)) return true;
  return false;
}
