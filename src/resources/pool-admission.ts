// Whether the MAC pool fills missing MACs at admission in a namespace: Harrow's annotation, or KubeMacPool's label.
import type { ObjectMeta } from './meta.ts';
import { ANNOTATION_POOL_ADMISSION } from './types.ts';

/**
 * KubeMacPool's namespace label for VirtualMachines: `allocate` opts a namespace in, `ignore` opts it out. Harrow runs
 * as KubeMacPool's opt-out mode (on unless switched off), so `allocate` only matters against Harrow's annotation.
 */
export const LABEL_KUBEMACPOOL_VMS = 'mutatevirtualmachines.kubemacpool.io';

/**
 * Harrow's own annotation wins when it says `true` or `false`; otherwise KubeMacPool's label decides; otherwise on.
 * Off does not mean no MAC: the network plugin then assigns missing MACs from the pool when the launcher pod is created.
 */
export function poolAdmissionOn(
  meta: Pick<ObjectMeta, 'annotations' | 'labels'> | undefined,
): boolean {
  const annotation = meta?.annotations?.[ANNOTATION_POOL_ADMISSION];
  if (annotation === 'false') return false;
  if (annotation === 'true') return true;
  return meta?.labels?.[LABEL_KUBEMACPOOL_VMS] !== 'ignore';
}
