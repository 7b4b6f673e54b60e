// VMs with N interfaces on a multus network, and committing them the way VM admission does, for the MAC pool's tests.
import type { MacAllocationService } from '../../src/allocation/service.ts';
import type { VirtualMachine } from '../../src/resources/types.ts';
import type { ResourceStore } from '../../src/store/types.ts';

/** A halted VM whose interface i is `nic<i>`, with `macs[i]` as its MAC when given. */
export function poolVm(
  name: string,
  macs: Array<string | undefined>,
  namespace = 'default',
): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace },
    spec: {
      runStrategy: 'Halted',
      template: {
        spec: {
          domain: {
            devices: {
              interfaces: macs.map((m, i) => ({
                name: `nic${i}`,
                bridge: {},
                ...(m ? { macAddress: m } : {}),
              })),
            },
          },
          networks: macs.map((_, i) => ({ name: `nic${i}`, multus: { networkName: 'lan' } })),
        },
      },
    },
  };
}

/** Plans the VM's MACs and commits it with them in one batch, as admission does (create, or update of `old`). */
export async function admitVm(
  macs: MacAllocationService,
  store: ResourceStore,
  next: VirtualMachine,
  old?: VirtualMachine,
): Promise<VirtualMachine> {
  const plan = await macs.planVirtualMachine(old, next, { allocateMissing: true });
  try {
    const [written] = await store.commit([
      { type: old ? 'update' : 'create', object: next },
      ...plan.ops,
    ]);
    plan.committed();
    return written as VirtualMachine;
  } catch (e) {
    plan.rollback();
    throw e;
  }
}
