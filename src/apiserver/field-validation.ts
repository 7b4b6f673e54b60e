// Server-side field validation (?fieldValidation=Ignore|Warn|Strict): fields the kind's schema (src/resources/schema/) neither declares nor keeps.
import { BadRequest } from '../resources/errors.ts';
import type { KindInfo } from '../resources/kinds.ts';
import { unknownFieldsOf } from '../resources/schema/structural.ts';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** The directive a request asked for; Warn when absent, as Kubernetes does since 1.27. */
export function fieldValidationOf(value: string | undefined): FieldValidation {
  if (value === undefined || value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw new BadRequest(
    `fieldValidation must be one of Ignore, Warn or Strict, not ${JSON.stringify(value)}`,
  );
}

/** Paths (`spce`, `metadata.labelz`) of the fields of `object` that its kind's schema neither declares nor keeps. */
export const unknownFields = (info: KindInfo, object: unknown): string[] =>
  unknownFieldsOf(info.kind, object).map((f) => f.path);

/** Removes the unknown fields from `object`, as kube-apiserver prunes a structural schema's unknown fields. */
function prune(info: KindInfo, object: unknown): void {
  for (const { parent, key } of unknownFieldsOf(info.kind, object)) delete parent[key];
}

/**
 * Applies the directive to the unknown fields of `object`, as kube-apiserver does for a CRD with a structural schema:
 * Strict refuses the request naming each field; Warn and Ignore drop the fields (pruning), Warn returning one warning
 * per field. Fields already in `before` (the stored object a patch or replace starts from) were judged when they came
 * and are not reported again, but are dropped all the same.
 */
export function checkFields(
  info: KindInfo,
  object: unknown,
  directive: FieldValidation,
  before?: unknown,
): string[] {
  const known = new Set(before === undefined ? [] : unknownFields(info, before));
  const unknown = unknownFields(info, object).filter((f) => !known.has(f));
  const messages = unknown.map((f) => `unknown field "${f}"`);
  if (directive === 'Strict' && unknown.length > 0) {
    throw new BadRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${messages.join(', ')}`,
    );
  }
  prune(info, object);
  return directive === 'Warn' ? messages : [];
}
