// A VM's status from its VMI: printableStatus, Ready, RestartRequired with the non-live-updatable changes. Pure.
import { attachDefaultPodInterface } from '../resources/pod-interface-default.ts';
import { removeCondition, setCondition, type Condition } from '../resources/meta.ts';
import type {
  Interface,
  Network,
  VirtualMachine,
  VirtualMachineInstance,
  VirtualMachineStatus,
  VMISpec,
} from '../resources/types.ts';
import { bindingOf } from '../resources/virtualmachine.ts';
import { guestCpus, guestMemoryMiB, isFinished } from '../resources/vmi.ts';
import { fixedAddressChanges } from '../network/fixed-address.ts';
import { nadRefOf } from '../network/interface-plans.ts';
import { instanceMac } from '../network/mac-precedence.ts';
import type { StartFailure, VmDecision } from './run-strategy.ts';

/** KubeVirt's wording for RestartRequired. */
export const RESTART_REQUIRED_MESSAGE =
  'a non-live-updatable field was changed in the template spec';
export const RESTART_REQUIRED_REASON = 'NonLiveUpdatableFieldChanged';

export type VmStatus = VirtualMachineStatus & {
  startFailure?: StartFailure;
  /** The MACs of the instance last stopped by the controller, until the next instance is created. */
  previousMacs?: Record<string, string>;
  /** The MACs the guest of that instance had drifted to, `{interface: guestMac}` (a drift that comes back is its OS's). */
  previousGuestMacs?: Record<string, string>;
  observedGeneration?: number;
};

/** The MAC each interface of a VMI runs with, `{interface: mac}` (the one precedence rule's instanceMac). */
export function instanceMacsByInterface(vmi: VirtualMachineInstance): Record<string, string> {
  const out: Record<string, string> = {};
  const status = new Map(
    (vmi.status?.interfaces ?? [])
      .filter((i) => i.name && i.infoSource !== 'guest-agent')
      .map((i) => [i.name as string, i.mac]),
  );
  for (const iface of vmi.spec.domain?.devices?.interfaces ?? []) {
    const mac = instanceMac({ spec: iface.macAddress, vmiStatus: status.get(iface.name) });
    if (mac) out[iface.name] = mac;
  }
  return out;
}

const networkSource = (n: Network, namespace: string): string => {
  if (n.pod !== undefined) return 'pod';
  const r = nadRefOf(n, namespace);
  return r ? `multus ${r.namespace}/${r.name}` : 'none';
};

/**
 * The non-live-updatable differences between the template and a running VMI: interfaces and networks (names, MACs,
 * bindings, models, network names), CPU and memory. A MAC not yet known on either side (pool admission off) is skipped.
 */
export function nonLiveUpdatableChanges(
  vmTemplate: VMISpec,
  vmi: VirtualMachineInstance,
  namespace: string,
): string[] {
  // The instance was made from the template with KubeVirt's defaults: compare like with like.
  const template = structuredClone(vmTemplate);
  attachDefaultPodInterface(template);
  const changes: string[] = [];
  const running = vmi.spec;
  const runningMacs = instanceMacsByInterface(vmi);
  const tIfs = template.domain?.devices?.interfaces ?? [];
  const rIfs = new Map((running.domain?.devices?.interfaces ?? []).map((i) => [i.name, i]));
  const tNames = tIfs.map((i) => i.name);
  const rNames = [...rIfs.keys()];
  if (tNames.join(',') !== rNames.join(','))
    changes.push(`interfaces [${rNames.join(', ')}] → [${tNames.join(', ')}]`);
  for (const t of tIfs) {
    const r = rIfs.get(t.name);
    if (!r) continue;
    const tMac = t.macAddress?.toLowerCase();
    const rMac = runningMacs[t.name];
    if (tMac && rMac && tMac !== rMac)
      changes.push(`interface ${t.name}: macAddress ${rMac} → ${tMac}`);
    if (bindingOf(t) !== bindingOf(r as Interface))
      changes.push(`interface ${t.name}: binding ${bindingOf(r as Interface)} → ${bindingOf(t)}`);
    if ((t.model ?? 'virtio') !== ((r as Interface).model ?? 'virtio')) {
      changes.push(
        `interface ${t.name}: model ${(r as Interface).model ?? 'virtio'} → ${t.model ?? 'virtio'}`,
      );
    }
  }
  const rNets = new Map((running.networks ?? []).map((n) => [n.name, n]));
  const tNets = template.networks ?? [];
  if (tNets.map((n) => n.name).join(',') !== [...rNets.keys()].join(',')) {
    changes.push(
      `networks [${[...rNets.keys()].join(', ')}] → [${tNets.map((n) => n.name).join(', ')}]`,
    );
  }
  for (const t of tNets) {
    const r = rNets.get(t.name);
    if (r && networkSource(t, namespace) !== networkSource(r, namespace)) {
      changes.push(
        `network ${t.name}: ${networkSource(r, namespace)} → ${networkSource(t, namespace)}`,
      );
    }
  }
  if (guestCpus(template) !== guestCpus(running))
    changes.push(`cpu ${guestCpus(running)} → ${guestCpus(template)}`);
  const tm = guestMemoryMiB(template);
  const rm = guestMemoryMiB(running);
  if (tm !== rm) changes.push(`memory ${rm}Mi → ${tm}Mi`);
  return changes;
}

/**
 * The VMI's PodScheduled=False condition while no node takes it (KubeVirt copies it from the pending pod), whatever the
 * reason: no room (Unschedulable) or its disks' node (ClaimOnOtherNode, ClaimsOnDifferentNodes), which a KubeVirt pod
 * would report as Unschedulable with a volume node affinity message.
 */
const unschedulableOf = (vmi: VirtualMachineInstance | undefined): Condition | undefined =>
  vmi?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');

function printableStatus(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  d: VmDecision,
  podsLeft: boolean,
): string {
  if (vm.metadata.deletionTimestamp !== undefined) return 'Terminating';
  if (!vmi) return d.crashLoop ? 'CrashLoopBackOff' : podsLeft ? 'Stopping' : 'Stopped';
  if (vmi.metadata.deletionTimestamp !== undefined) return 'Stopping';
  switch (vmi.status?.phase) {
    case 'Running':
      return 'Running';
    case 'Succeeded':
    case 'Failed':
      return d.crashLoop ? 'CrashLoopBackOff' : 'Stopped';
    case 'Unknown':
      return 'Unknown';
    default:
      return unschedulableOf(vmi) ? 'ErrorUnschedulable' : 'Starting';
  }
}

/**
 * The VM's status from its VMI after this reconcile's actions; conditions of other controllers are kept. `podsLeft`: a
 * launcher pod of the VM still exists (the VM is Stopping until it is gone).
 */
export function computeVmStatus(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  d: VmDecision,
  nowIso: string,
  podsLeft = false,
): VmStatus {
  const prev = (vm.status ?? {}) as VmStatus;
  const status: VmStatus = { ...structuredClone(prev) };
  delete status.stateChangeRequests;
  const conditions: Condition[] = status.conditions ?? [];
  const running = vmi?.status?.phase === 'Running';
  const vmiReady = vmi?.status?.conditions?.find((c) => c.type === 'Ready');
  const ready = running && vmiReady?.status !== 'False';
  if (ready) setCondition(conditions, { type: 'Ready', status: 'True' }, nowIso);
  else if (!vmi)
    setCondition(
      conditions,
      { type: 'Ready', status: 'False', reason: 'VMINotExists', message: 'VMI does not exist' },
      nowIso,
    );
  else {
    setCondition(
      conditions,
      {
        type: 'Ready',
        status: 'False',
        reason: 'GuestNotRunning',
        message: `VMI is ${vmi.status?.phase ?? 'Pending'}`,
      },
      nowIso,
    );
  }
  const live = vmi && !isFinished(vmi) ? vmi : undefined;
  /** A condition of the VM that says what a condition of its live VMI says (with the VMI's reason and message). */
  const mirror = (
    type: string,
    status: Condition['status'],
    from: Condition | undefined,
    reason: string,
  ): void => {
    if (from)
      setCondition(
        conditions,
        { type, status, reason: from.reason ?? reason, message: from.message ?? '' },
        nowIso,
      );
    else removeCondition(conditions, type);
  };
  // KubeVirt's VM condition Failure: here, why the VMI's pod cannot start (the network plugin's Synchronized=False).
  mirror(
    'Failure',
    'True',
    live?.status?.conditions?.find((c) => c.type === 'Synchronized' && c.status === 'False'),
    'FailedCreate',
  );
  // As KubeVirt's VM controller copies its VMI's conditions: why the VMI waits for a node shows on the VM too.
  mirror('PodScheduled', 'False', unschedulableOf(live), 'Unschedulable');
  const changes =
    vmi && !isFinished(vmi)
      ? [
          ...nonLiveUpdatableChanges(
            vm.spec.template.spec,
            vmi,
            vm.metadata.namespace ?? 'default',
          ),
          // Harvester's static-ip annotations are the VM's metadata, applied as the instance starts.
          ...fixedAddressChanges(vm.metadata.annotations, vmi.metadata.annotations),
        ]
      : [];
  if (changes.length > 0) {
    setCondition(
      conditions,
      {
        type: 'RestartRequired',
        status: 'True',
        reason: RESTART_REQUIRED_REASON,
        message: `${RESTART_REQUIRED_MESSAGE}: ${changes.join('; ')}`,
      },
      nowIso,
    );
  } else removeCondition(conditions, 'RestartRequired');
  status.conditions = conditions;
  status.printableStatus = printableStatus(vm, vmi, d, podsLeft);
  status.ready = ready;
  status.created = vmi !== undefined;
  if (vm.metadata.generation !== undefined) status.observedGeneration = vm.metadata.generation;
  if (d.startFailure) status.startFailure = d.startFailure;
  else delete status.startFailure;
  if (vmi) {
    delete status.previousMacs;
    delete status.previousGuestMacs;
  }
  return status;
}
