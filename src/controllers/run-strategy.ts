// The run-strategy policy (KubeVirt's VM state machine): what a VM wants done with its VMI from runStrategy, state
// change requests and crash-loop backoff. Pure.
import type { OwnerReference } from '../resources/meta.ts';
import type { RunStrategy, VirtualMachine, VirtualMachineInstance } from '../resources/types.ts';
import { isFinished } from '../resources/vmi.ts';

/** A VMI that ran this long resets the crash-loop count. */
const CRASH_LOOP_RESET_MS = 5 * 60_000;

/** VM status fields Harrow adds beside KubeVirt's. */
export interface StartFailure {
  consecutiveFailCount: number;
  lastFailedVMIUID: string;
  retryAfterTimestamp: string;
}

export function runStrategyOf(vm: VirtualMachine): RunStrategy {
  if (vm.spec.runStrategy) return vm.spec.runStrategy;
  return vm.spec.running === true ? 'Always' : 'Halted';
}

/** KubeVirt-like crash-loop backoff: the first failure restarts at once, then 10 s doubling up to 5 min. */
export function crashLoopDelayMs(consecutiveFailures: number): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(300_000, 10_000 * 2 ** (consecutiveFailures - 2));
}

export interface VmDecision {
  /** Delete the current VMI. */
  stop: boolean;
  /** Create a new VMI (after the stop, if any) from the current template. */
  start: boolean;
  startFailure: StartFailure | undefined;
  /** Run again after this long (crash-loop backoff, or the crash-loop reset). */
  requeueAfter?: number;
  /** Waiting out a crash-loop backoff. */
  crashLoop: boolean;
  /** runStrategy Once has run: set it to Halted (as KubeVirt does). */
  halt: boolean;
}

export const ownerVmOf = (vmi: VirtualMachineInstance): OwnerReference | undefined =>
  vmi.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine');

/** When the VMI became Running (its Ready condition's transition, else its creation). */
function runningSince(vmi: VirtualMachineInstance): number {
  const ready = vmi.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  return Date.parse(ready?.lastTransitionTime ?? vmi.metadata.creationTimestamp ?? '') || 0;
}

/**
 * What the VM wants done with its VMI: the state change requests in order (a Stop with a uid only stops that VMI; Start
 * after Stop is a restart), then the run strategy. Every request is consumed. Pure.
 */
export function decide(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  nowMs: number,
): VmDecision {
  const strategy = runStrategyOf(vm);
  let state: 'none' | 'active' | 'finished' = !vmi
    ? 'none'
    : isFinished(vmi)
      ? 'finished'
      : 'active';
  let uid = vmi?.metadata.uid;
  let stop = false;
  let start = false;
  let requestedStart = false;
  for (const r of vm.status?.stateChangeRequests ?? []) {
    if (r.action === 'Stop') {
      if (state !== 'none' && (r.uid === undefined || r.uid === uid)) {
        if (start) start = false;
        else stop = true;
        state = 'none';
        uid = undefined;
      }
    } else if (r.action === 'Start' && state !== 'active') {
      if (state === 'finished') stop = true;
      start = true;
      requestedStart = true;
      state = 'active';
      uid = undefined;
    }
  }
  const d: VmDecision = {
    stop,
    start,
    startFailure: vm.status?.startFailure as StartFailure | undefined,
    crashLoop: false,
    halt: false,
  };
  if (vm.metadata.deletionTimestamp !== undefined || strategy === 'Halted') {
    return { ...d, stop: vmi !== undefined, start: false };
  }
  const phase = vmi?.status?.phase;
  switch (strategy) {
    case 'Always':
    case 'RerunOnFailure':
      if (state === 'finished' && vmi) {
        if (phase === 'Failed') {
          let sf = d.startFailure;
          if (!sf || sf.lastFailedVMIUID !== vmi.metadata.uid) {
            const n = (sf?.consecutiveFailCount ?? 0) + 1;
            sf = {
              consecutiveFailCount: n,
              lastFailedVMIUID: vmi.metadata.uid ?? '',
              retryAfterTimestamp: new Date(nowMs + crashLoopDelayMs(n)).toISOString(),
            };
          }
          d.startFailure = sf;
          const wait = Date.parse(sf.retryAfterTimestamp) - nowMs;
          if (wait > 0 && !requestedStart)
            return { ...d, stop: false, start: false, crashLoop: true, requeueAfter: wait };
        } else if (strategy === 'RerunOnFailure') {
          break; // Succeeded: RerunOnFailure leaves it
        }
        d.stop = true;
        d.start = true;
      } else if (state === 'none') {
        d.start = true;
      } else if (state === 'active' && vmi && phase === 'Running' && d.startFailure) {
        const ranFor = nowMs - runningSince(vmi);
        if (ranFor >= CRASH_LOOP_RESET_MS) d.startFailure = undefined;
        else d.requeueAfter = CRASH_LOOP_RESET_MS - ranFor;
      }
      break;
    case 'Once':
      if (state === 'finished' || (stop && !start)) {
        d.halt = true;
        d.start = false;
      } else if (state === 'none') d.start = true;
      break;
    case 'Manual':
      break;
  }
  return d;
}
