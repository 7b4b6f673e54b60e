// The store's errors worded as the Kubernetes apiserver words them, naming the group-qualified resource and the object.
import { AlreadyExists, Conflict, NotFound, type ErrorDetails } from '../resources/errors.ts';
import { kindInfo } from '../resources/kinds.ts';
import type { ObjectRef } from '../resources/meta.ts';

interface Resource {
  group: string;
  plural: string;
}

function resourceOf(kind: string): Resource {
  try {
    const info = kindInfo(kind);
    return { group: info.group, plural: info.plural };
  } catch {
    // The store is generic over kinds; a kind outside the table still gets a Kubernetes-shaped message.
    return { group: '', plural: `${kind.toLowerCase()}s` };
  }
}

/** `virtualmachines.kubevirt.io`, or `pods` for the core group (Kubernetes' qualified resource). */
function qualified(r: Resource): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`;
}

function details(ref: ObjectRef, r: Resource): ErrorDetails {
  return { name: ref.name, group: r.group, kind: r.plural };
}

export function alreadyExists(ref: ObjectRef): AlreadyExists {
  const r = resourceOf(ref.kind);
  return new AlreadyExists(`${qualified(r)} "${ref.name}" already exists`, details(ref, r));
}

export function notFound(ref: ObjectRef): NotFound {
  const r = resourceOf(ref.kind);
  return new NotFound(`${qualified(r)} "${ref.name}" not found`, details(ref, r));
}

/** An update carried a resourceVersion that is no longer the stored one. */
export function modifiedConflict(ref: ObjectRef): Conflict {
  const r = resourceOf(ref.kind);
  return new Conflict(
    `Operation cannot be fulfilled on ${qualified(r)} "${ref.name}": the object has been modified; please apply your changes to the latest version and try again`,
    details(ref, r),
  );
}

/** A delete's resourceVersion precondition did not hold. */
export function preconditionConflict(ref: ObjectRef, wanted: string, stored: string): Conflict {
  const r = resourceOf(ref.kind);
  return new Conflict(
    `Operation cannot be fulfilled on ${qualified(r)} "${ref.name}": the ResourceVersion in the precondition (${wanted}) does not match the ResourceVersion in record (${stored}). The object might have been modified`,
    details(ref, r),
  );
}
