// The admission contract: plugins that validate and mutate a write before the apiserver commits it, atomically with their own ops.
import { Invalid, type StatusCause } from '../../resources/errors.ts';
import type { KubeObject } from '../../resources/meta.ts';
import type { WriteOp } from '../../store/types.ts';

export interface UserInfo {
  name: string;
  groups: string[];
  /** The id of the ApiToken the user came with (revoking it ends the user's open watches). */
  uid?: string;
}

export interface AdmissionRequest {
  operation: 'create' | 'update' | 'delete';
  kind: string;
  /** The new object (after patch); plugins may mutate it (mutating admission). Absent on delete. */
  object?: KubeObject;
  /** The stored object, on update and delete. */
  oldObject?: KubeObject;
  user: UserInfo;
  /** Nothing will be stored: plan, but hold nothing beyond what `rollback` releases. */
  dryRun: boolean;
  /** Set when the write comes through a subresource: `status`, `start`, `stop`, `restart`. */
  subresource?: string;
}

export interface AdmissionResult {
  /** Committed atomically with the request's own write (and its audit record). */
  ops?: WriteOp[];
  /** Sent to the client as `Warning: 299 - "…"` headers. */
  warnings?: string[];
  /** For the audit record. */
  changes?: Array<{ field: string; old?: unknown; new?: unknown }>;
  /** Called when the commit fails, on dryRun, or when a later plugin rejects the request. */
  rollback?: () => void;
  /** Called after the commit succeeded. */
  committed?: () => void;
}

export interface AdmissionPlugin {
  /** Kinds this plugin admits (`'*'` for every kind). */
  kinds: string[];
  /** Throw a HarrowError (Invalid with causes, Conflict, …) to reject. */
  admit(req: AdmissionRequest): Promise<AdmissionResult | void>;
}

/** The 422 an admission plugin rejects an object with: `<shown> "<name>" is invalid: field: message; …`, naming each field. */
export function objectInvalid(
  shown: string,
  kind: string,
  group: string,
  name: string,
  causes: StatusCause[],
): Invalid {
  return new Invalid(
    `${shown} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`,
    causes,
    { name, group, kind },
  );
}
