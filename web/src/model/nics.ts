// What the UI shows per NIC: the shared per-interface view (src/network/interface-view.ts, which the CLI and the API's
// tables render too), with each figure's source in words and the drift record's remedies.
import { conditionOf, type Condition } from '../../../src/resources/meta.ts';
import { interfaceViews, type InterfaceView } from '../../../src/network/interface-view.ts';
import type {
  GuestMacMismatch,
  Pod,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../../src/resources/types.ts';

export const POD_NETWORK = 'Pod network';

export interface NicView {
  /** The interface name in the manifest (spec.template.spec.domain.devices.interfaces[].name). */
  name: string;
  index: number;
  /** The network it is attached to: a NetworkAttachmentDefinition name, or the pod network. */
  network: string;
  binding: string;
  model: string | undefined;
  /** What the manifest asks for (may be absent before admission assigns one). */
  specMac: string | undefined;
  /** What the platform gave the pod interface, as Harvester shows it. */
  platformMac: string | undefined;
  platformSource: string | undefined;
  /** What the guest itself uses. */
  guestMac: string | undefined;
  guestInterfaceName: string | undefined;
  guestSource: string | undefined;
  ips: string[];
  ipSource: string | undefined;
  /** The guest uses a MAC other than the platform's. */
  drift: boolean;
  /** The observer's record of the drift: since when, who else holds the MAC, the remedies it offers. */
  mismatch: GuestMacMismatch | undefined;
  /** The manifest names a MAC the running pod does not have yet: it applies on restart. */
  pendingRestart: boolean;
}

export const isTrue = (conds: Condition[] | undefined, type: string): boolean =>
  conditionOf(conds, type)?.status === 'True';

/** The launcher pod of a VM: the newest pod labelled with its name that is not being deleted. */
export function launcherPodOf(pods: Pod[], vmName: string): Pod | undefined {
  const mine = pods.filter(
    (p) => p.metadata.labels?.['vm.kubevirt.io/name'] === vmName && !p.metadata.deletionTimestamp,
  );
  mine.sort((a, b) =>
    (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
  );
  return mine[0];
}

function platformSourceText(
  v: InterfaceView,
  pod: Pod | undefined,
  vmi: VirtualMachineInstance | undefined,
): string | undefined {
  if (v.platformSource === 'network-status')
    return `Pod ${pod?.metadata.name ?? ''} network-status${v.podInterfaceName ? `, interface ${v.podInterfaceName}` : ''}`;
  if (v.platformSource === 'vmi-status') return `VMI ${vmi?.metadata.name ?? ''} status (domain)`;
  return undefined;
}

function guestSourceText(v: InterfaceView): string | undefined {
  switch (v.guestSource) {
    case 'guestMac':
      return `Guest NIC as QEMU sees it (VMI status guestMac${v.guestInterfaceName ? '; guest agent agrees' : ''})`;
    case 'guest-agent':
      return 'Guest agent (domain, guest-agent)';
    case 'guest-agent-unmatched':
      return 'Guest agent (guest-agent, matches no platform MAC)';
    default:
      return undefined;
  }
}

function ipSourceText(v: InterfaceView, pod: Pod | undefined): string | undefined {
  switch (v.ipSource) {
    case 'guest-agent':
      return 'Guest agent';
    case 'vmi-status':
      return 'VMI status (domain)';
    case 'network-status':
      return `Pod ${pod?.metadata.name ?? ''} network-status`;
    default:
      return undefined;
  }
}

/** One NicView per interface of the VM's manifest, from the shared per-interface view. */
export function nicViews(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  pod: Pod | undefined,
): NicView[] {
  return interfaceViews(vm, vmi, pod).map((v) => ({
    name: v.name,
    index: v.index,
    network: v.network === 'pod' ? POD_NETWORK : v.network,
    binding: v.binding,
    model: v.model,
    specMac: v.specMac,
    platformMac: v.platformMac,
    platformSource: platformSourceText(v, pod, vmi),
    guestMac: v.guestMac,
    guestInterfaceName: v.guestInterfaceName,
    guestSource: guestSourceText(v),
    ips: v.ips,
    ipSource: ipSourceText(v, pod),
    drift: v.mismatch,
    mismatch: v.guestMacMismatch,
    pendingRestart: v.pendingRestart,
  }));
}
