// Admission for AuditRecords sent through the API (node agents' controllers): the shape every reader relies on, and the
// writer's own name — a record says who wrote it, and a caller cannot write one in another user's name.
import { fieldInvalid, fieldRequired, type StatusCause } from '../../resources/errors.ts';
import { objectInvalid, type AdmissionPlugin, type AdmissionRequest } from './types.ts';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function auditRecordCauses(spec: unknown): StatusCause[] {
  const causes: StatusCause[] = [];
  const need = (ok: boolean, field: string, message: string): void => {
    if (!ok) causes.push(fieldInvalid(field, message));
  };
  if (!isObject(spec)) return [fieldRequired('spec', 'must be an object')];
  need(
    typeof spec.timestamp === 'string' && !Number.isNaN(Date.parse(spec.timestamp)),
    'spec.timestamp',
    'must be an RFC 3339 time',
  );
  need(
    typeof spec.verb === 'string' && spec.verb !== '',
    'spec.verb',
    'must be a non-empty string',
  );
  const resource = spec.resource;
  need(
    isObject(resource) && typeof resource.kind === 'string' && resource.kind !== '',
    'spec.resource.kind',
    'must be a non-empty string',
  );
  need(
    isObject(resource) && typeof resource.name === 'string',
    'spec.resource.name',
    'must be a string',
  );
  const outcome = spec.outcome;
  need(
    isObject(outcome) && Number.isInteger(outcome.code),
    'spec.outcome.code',
    'must be an integer HTTP code',
  );
  need(
    isObject(outcome) && (outcome.status === 'Success' || outcome.status === 'Failure'),
    'spec.outcome.status',
    'must be Success or Failure',
  );
  return causes;
}

/** AuditRecords are append-only: created (by admins: node agents), never changed; `spec.user` must be the caller's name or a `system:` controller acting for it. */
export function auditRecordAdmission(): AdmissionPlugin {
  return {
    kinds: ['AuditRecord'],
    async admit(req: AdmissionRequest): Promise<void> {
      if (req.operation !== 'create' || !req.object) return;
      const spec = req.object.spec as Record<string, unknown> | undefined;
      const causes = auditRecordCauses(spec);
      const user = spec?.user;
      if (typeof user !== 'string' || (user !== req.user.name && !user.startsWith('system:'))) {
        causes.push(
          fieldInvalid(
            'spec.user',
            `must be ${JSON.stringify(req.user.name)} (the caller) or a system: controller name`,
          ),
        );
      }
      if (causes.length === 0) return;
      throw objectInvalid(
        'AuditRecord',
        'AuditRecord',
        'harrow.io',
        req.object.metadata.name ?? '',
        causes,
      );
    },
  };
}
