// Admission for Namespaces: a maintenance-window annotation must parse (cron, duration, time zone), naming the field.
import { maintenanceAnnotationCauses } from '../../maintenance/window.ts';
import { Invalid } from '../../resources/errors.ts';
import type { AdmissionPlugin, AdmissionRequest } from './types.ts';

export function namespaceAdmission(): AdmissionPlugin {
  return {
    kinds: ['Namespace'],
    async admit(req: AdmissionRequest): Promise<void> {
      if (req.operation === 'delete' || !req.object) return;
      const causes = maintenanceAnnotationCauses(req.object, req.oldObject);
      if (causes.length === 0) return;
      const name = req.object.metadata.name;
      throw new Invalid(`Namespace "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`, causes, { name, group: '', kind: 'Namespace' });
    },
  };
}
