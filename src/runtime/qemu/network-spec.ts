// The qemu runtime's NetworkSpec check: the runtimes' common one, and an id safe to name host objects with.
import { type CheckedNetwork, checkNetworkSpec as checkCommon } from '../network-spec.ts';
import type { NetworkSpec } from '../types.ts';
import { checkObjectId } from './names.ts';

/** Throws an Error naming the field (`network.id`, `network.cidr`, …) of the first problem. */
export function checkNetworkSpec(spec: NetworkSpec): CheckedNetwork {
  checkObjectId('network.id', spec.id);
  return checkCommon(spec);
}
