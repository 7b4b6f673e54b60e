// Audit records written by controllers for MAC-affecting actions (pod network created, restart applied, connectivity).
import { auditRecord, type AuditInput } from '../audit/record.ts';
import type { ResourceStore } from '../store/types.ts';
import { CONTROLLER_USER } from './context.ts';

/** Appends an AuditRecord as the controller user; a failed write is logged (the action it records has happened). */
export async function recordAudit(
  store: ResourceStore,
  logger: { error(obj: object, msg: string): void },
  input: Omit<AuditInput, 'user'> & { user?: string },
): Promise<void> {
  try {
    await store.create(auditRecord({ ...input, user: input.user ?? CONTROLLER_USER }));
  } catch (e) {
    logger.error(
      {
        err: e instanceof Error ? e.message : String(e),
        verb: input.verb,
        resource: input.resource,
      },
      'audit record not written',
    );
  }
}
