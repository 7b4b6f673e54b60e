// KubeVirt manifests of VMs that boot an operating system image (the Debian guest on qemu, an imported image on the
// sim), shared by the real-guest tests: a containerDisk or a DataVolume root, a cloud-init NoCloud disk, one bridge
// interface on network `lan`; and the guest configuration that pins a MAC (harvester#9974's guest).
import type { HarrowClient } from '../../src/client/client.ts';
import type { VirtualMachine, VirtualMachineInstance, Volume } from '../../src/resources/types.ts';
import { NS, runningVmi } from './fixtures.ts';
import { waitFor } from './harness.ts';
import { runtimesUnderTest } from './runtimes.ts';

/** The name KubeVirt manifests use for the Debian image (`harrow image build debian`). */
export const DEBIAN_IMAGE = 'quay.io/containerdisks/debian:12';
/** A Debian boot under TCG on a busy 2-core host: about a minute, several when loaded (a wait's bound). */
export const DEBIAN_BOOT_MS = 900_000;
/** Waits, bounded by a Debian boot, until `probe` gives a value (its last failure named by `message`). */
export const waitForGuest = <T>(
  message: string,
  probe: () => Promise<T | false | undefined>,
): Promise<T> =>
  waitFor(async () => (await probe()) ?? false, {
    timeoutMs: DEBIAN_BOOT_MS,
    intervalMs: 1_000,
    message,
  }) as Promise<T>;

/**
 * A new instance of `vm` (not `notUid`) running with its DHCP lease and cloud-init done, as `doneFile` in the guest
 * says (read through the agent): until then the guest's one emulated CPU is too busy for the agent and the console.
 */
export const bootedGuest = (
  client: HarrowClient,
  vm: string,
  notUid?: string,
  doneFile = '/run/cloud-init/result.json',
): Promise<VirtualMachineInstance> =>
  waitForGuest(`${vm}: running with a lease and cloud-init finished`, async () => {
    if (!(await runningVmi(client, vm, notUid))) return false;
    const done = await client.guestExec(NS, vm, ['test', '-f', doneFile]);
    return done.exitCode === 0 && runningVmi(client, vm, notUid);
  });

const qemuSkip = runtimesUnderTest().find((r) => r.name === 'qemu')?.skip;
/**
 * Why the Debian guest tests are skipped here, if they are: on by default wherever real guests run (root, QEMU, the
 * cloud kernel); HARROW_E2E_DEBIAN=0 opts out.
 */
export const debianSkip: string | undefined =
  process.env.HARROW_E2E_DEBIAN === '0'
    ? 'HARROW_E2E_DEBIAN=0'
    : qemuSkip && `the Debian guest e2e needs real guests: ${qemuSkip}`;

export interface OsVmOptions {
  /** `containerDisk` (ephemeral, KubeVirt's container disks) or `dataVolume` (a persistent copy of the image). */
  root?: 'containerDisk' | 'dataVolume';
  userData?: string;
  networkData?: string;
  /** The interface's MAC; the pool gives one when absent. */
  mac?: string;
  /** The VM's annotations (e.g. a fixed address, `static-ip.harvesterhci.io/default`). */
  annotations?: Record<string, string>;
}

/** A VM as KubeVirt's docs write one: the image as its root disk, a cloud-init NoCloud disk, one bridge interface. */
export function osVm(name: string, image: string, o: OsVmOptions = {}): VirtualMachine {
  const dataVolume = o.root === 'dataVolume';
  const rootVolume: Volume = dataVolume
    ? { name: 'root', dataVolume: { name: `${name}-root` } }
    : { name: 'root', containerDisk: { image } };
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      runStrategy: 'Always',
      ...(dataVolume
        ? {
            dataVolumeTemplates: [
              {
                apiVersion: 'cdi.kubevirt.io/v1beta1',
                kind: 'DataVolume',
                metadata: { name: `${name}-root` },
                spec: {
                  source: { registry: { url: `docker://${image}` } },
                  storage: { resources: { requests: { storage: '3Gi' } } },
                },
              },
            ],
          }
        : {}),
      template: {
        metadata: { labels: { 'kubevirt.io/vm': name } },
        spec: {
          domain: {
            cpu: { cores: 1 },
            resources: { requests: { memory: '384Mi' } },
            devices: {
              disks: [
                { name: 'root', disk: { bus: 'virtio' } },
                { name: 'cloudinit', disk: { bus: 'virtio' } },
              ],
              interfaces: [
                { name: 'default', bridge: {}, ...(o.mac ? { macAddress: o.mac } : {}) },
              ],
            },
          },
          networks: [{ name: 'default', multus: { networkName: 'lan' } }],
          volumes: [
            rootVolume,
            {
              name: 'cloudinit',
              cloudInitNoCloud: {
                userData: o.userData ?? '#cloud-config\n',
                ...(o.networkData !== undefined ? { networkData: o.networkData } : {}),
              },
            },
          ],
        },
      },
    },
  };
}

/**
 * /etc/network/interfaces that brings eth0 up with DHCP on a MAC of its own (harvester#9974's guest): ifupdown sets
 * `mac` at every boot. Line 6 is the `hwaddress` line.
 */
export const pinningInterfaces = (mac: string): string =>
  `auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n    hwaddress ether ${mac}\n`;
