// Admission for DataVolumes and PersistentVolumeClaims: a source Harrow can fill from and a size that is a quantity,
// each refusal naming its field; the spec is fixed once made (CDI's webhook and Kubernetes refuse spec changes too).
import { fieldInvalid } from '../../resources/errors.ts';
import { validateDataVolume, validatePersistentVolumeClaim } from '../../resources/datavolume.ts';
import type { DataVolume, PersistentVolumeClaim } from '../../resources/types.ts';
import { Invalid } from '../../resources/errors.ts';
import { deepEqual } from '../patch.ts';
import type { AdmissionPlugin, AdmissionRequest, AdmissionResult } from './types.ts';

export function persistentDiskAdmission(): AdmissionPlugin {
  return {
    kinds: ['DataVolume', 'PersistentVolumeClaim'],
    async admit(req: AdmissionRequest): Promise<AdmissionResult | void> {
      if (req.operation === 'delete' || !req.object || req.subresource === 'status') return;
      const object = req.object as DataVolume | PersistentVolumeClaim;
      if (req.operation === 'update') {
        const old = req.oldObject as DataVolume | PersistentVolumeClaim;
        if (!deepEqual(object.spec, old.spec)) {
          const message =
            object.kind === 'DataVolume'
              ? 'the spec of a DataVolume cannot be changed; create a new one'
              : 'spec is immutable after creation';
          throw new Invalid(
            `${object.kind} "${object.metadata.name}" is invalid: spec: ${message}`,
            [fieldInvalid('spec', message)],
            {
              name: object.metadata.name,
              group: object.kind === 'DataVolume' ? 'cdi.kubevirt.io' : '',
              kind: object.kind,
            },
          );
        }
        return;
      }
      if (object.kind === 'DataVolume') validateDataVolume(object);
      else validatePersistentVolumeClaim(object);
    },
  };
}
