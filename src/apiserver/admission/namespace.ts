// Admission for Namespaces: a maintenance-window annotation must parse (cron, duration, time zone), naming the field.
import { maintenanceAnnotationCauses } from '../../maintenance/window.ts';
import { objectInvalid, type AdmissionPlugin, type AdmissionRequest } from './types.ts';

export function namespaceAdmission(): AdmissionPlugin {
  return {
    kinds: ['Namespace'],
    async admit(req: AdmissionRequest): Promise<void> {
      if (req.operation === 'delete' || !req.object) return;
      const causes = maintenanceAnnotationCauses(req.object, req.oldObject);
      if (causes.length === 0) return;
      throw objectInvalid('Namespace', 'Namespace', '', req.object.metadata.name, causes);
    },
  };
}
