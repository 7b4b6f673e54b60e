// Facts about a VirtualMachineInstance every component reads the same way: whether it has finished, and its size
// (vCPUs and memory) — one rule for the scheduler, the launcher and the vm controller's change detection.
import type { VirtualMachineInstance, VMISpec } from './types.ts';
import { quantityToMiB } from './virtualmachine.ts';

/** Guest memory when the spec names none (KubeVirt requires one; Harrow's small guests run in this). */
export const DEFAULT_GUEST_MEMORY_MIB = 128;

export const isFinished = (vmi: VirtualMachineInstance | undefined): boolean =>
  vmi?.status?.phase === 'Succeeded' || vmi?.status?.phase === 'Failed';

/** vCPUs: cores × sockets × threads (each default 1), at least 1. */
export function guestCpus(spec: VMISpec | undefined): number {
  const c = spec?.domain?.cpu ?? {};
  return Math.max(1, (c.cores ?? 1) * (c.sockets ?? 1) * (c.threads ?? 1));
}

/** Guest memory in MiB: domain.memory.guest, else resources.requests.memory, else the default. */
export function guestMemoryMiB(spec: VMISpec | undefined): number {
  const q = spec?.domain?.memory?.guest ?? spec?.domain?.resources?.requests?.memory;
  return (typeof q === 'string' ? quantityToMiB(q) : undefined) ?? DEFAULT_GUEST_MEMORY_MIB;
}
