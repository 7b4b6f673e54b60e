// Builds AuditRecord objects: who did what to which object, old → new, and the outcome. Append-only once stored.
import type { AuditRecord, ConnectivityResult } from '../resources/types.ts';

export interface AuditInput {
  user: string;
  verb: string;
  resource: { kind: string; namespace?: string; name: string };
  changes?: Array<{ field: string; old?: unknown; new?: unknown }>;
  outcome: { code: number; message?: string };
  connectivity?: ConnectivityResult;
  now?: Date;
}

let sequence = 0;
const LABEL_VALUE = /^(?=.{0,63}$)(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A new AuditRecord, named so that names sort by time; it lives in the namespace of the object it is about (`default` for cluster-scoped ones). */
export function auditRecord(input: AuditInput): AuditRecord {
  const now = input.now ?? new Date();
  sequence = (sequence + 1) % 1_000_000;
  const name = `${now.getTime().toString(36)}-${sequence.toString(36).padStart(4, '0')}-${Math.random().toString(36).slice(2, 7)}`;
  return {
    apiVersion: 'harrow.io/v1',
    kind: 'AuditRecord',
    metadata: {
      name,
      namespace: input.resource.namespace ?? 'default',
      labels: {
        'harrow.io/verb': input.verb,
        'harrow.io/kind': input.resource.kind,
        // A refused request's name may be anything; a label holds it only when it is a valid label value.
        ...(LABEL_VALUE.test(input.resource.name) ? { 'harrow.io/name': input.resource.name } : {}),
      },
    },
    spec: {
      timestamp: now.toISOString(),
      user: input.user,
      verb: input.verb,
      resource: input.resource,
      ...(input.changes && input.changes.length > 0 ? { changes: input.changes } : {}),
      outcome: {
        code: input.outcome.code,
        status: input.outcome.code < 400 ? 'Success' : 'Failure',
        ...(input.outcome.message ? { message: input.outcome.message } : {}),
      },
      ...(input.connectivity ? { connectivity: input.connectivity } : {}),
    },
  };
}
