// The clone controller's way to create a VM: the apiserver's own write path (admission — validation, MAC allocation and
// reservation — then one commit with the audit record), so a controller-made VM is held to the rules a user's is.
import type { AdmissionPlugin } from '../apiserver/admission/types.ts';
import { groupsOf } from '../apiserver/roles.ts';
import { admitAndCommit } from '../apiserver/writes.ts';
import type { VmCreator } from '../controllers/clone.ts';
import { kindInfo } from '../resources/kinds.ts';
import type { VirtualMachine } from '../resources/types.ts';
import type { ResourceStore } from '../store/types.ts';

/**
 * The controller acts as an operator of the clone's namespace: a refusal names a MAC's holder only when that VM is in the
 * same namespace, as it would for a user who may see only there.
 */
export function admittedVmCreator(store: ResourceStore, admission: AdmissionPlugin[]): VmCreator {
  const info = kindInfo('VirtualMachine');
  return {
    async create(vm, user) {
      const result = await admitAndCommit(
        { store, admission },
        {
          info,
          operation: 'create',
          object: vm,
          user: { name: user, groups: groupsOf('operator', [vm.metadata.namespace ?? 'default']) },
          dryRun: false,
          verb: 'create',
          code: 201,
        },
      );
      return { vm: result.object as VirtualMachine, warnings: result.warnings };
    },
  };
}
