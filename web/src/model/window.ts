// A namespace's maintenance window as the UI edits it: the harrow.io/maintenance-window annotation read into its three
// fields, written back as the JSON the server admits, and the admission's causes placed at the field they name.
import type { StatusCause } from '../api/client.ts';
import { ANNOTATION_MAINTENANCE_WINDOW } from '../../../src/resources/types.ts';

export interface WindowForm {
  schedule: string;
  duration: string;
  timeZone: string;
}

export type WindowField = keyof WindowForm;

export const WINDOW_FIELDS: readonly WindowField[] = ['schedule', 'duration', 'timeZone'];

/** The annotation's value as the form's fields; `undefined` when the object has none, `unreadable` when it is not the JSON object the server writes. */
export function windowFormOf(
  annotations: Record<string, string> | undefined,
): WindowForm | 'unreadable' | undefined {
  const raw = annotations?.[ANNOTATION_MAINTENANCE_WINDOW];
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return 'unreadable';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'unreadable';
  const o = parsed as Record<string, unknown>;
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    schedule: text(o['schedule']),
    duration: text(o['duration']),
    timeZone: o['timeZone'] === undefined ? 'UTC' : text(o['timeZone']),
  };
}

/** The merge patch that sets the window (or, with `undefined`, removes it). Fields are sent as typed: the server judges them. */
export function windowPatch(form: WindowForm | undefined): {
  metadata: { annotations: Record<string, string | null> };
} {
  return {
    metadata: {
      annotations: {
        [ANNOTATION_MAINTENANCE_WINDOW]:
          form === undefined
            ? null
            : JSON.stringify({
                schedule: form.schedule.trim(),
                duration: form.duration.trim(),
                timeZone: form.timeZone.trim() === '' ? 'UTC' : form.timeZone.trim(),
              }),
      },
    },
  };
}

/** A window in words for a table cell: "0 2 * * SUN, 2h (Europe/Berlin)". */
export const windowText = (w: WindowForm): string =>
  `${w.schedule}, ${w.duration} (${w.timeZone || 'UTC'})`;

export interface PlacedWindowErrors {
  fields: Partial<Record<WindowField, string>>;
  /** What names no field of the form (or no field at all). */
  general: string | undefined;
}

const FIELD_PREFIX = `metadata.annotations[${ANNOTATION_MAINTENANCE_WINDOW}]`;

/** Puts each cause at the form field its path names (`metadata.annotations[harrow.io/maintenance-window].schedule`). */
export function placeWindowErrors(message: string, causes: StatusCause[]): PlacedWindowErrors {
  const fields: Partial<Record<WindowField, string>> = {};
  const rest: string[] = [];
  for (const c of causes) {
    const sub = c.field?.startsWith(`${FIELD_PREFIX}.`)
      ? c.field.slice(FIELD_PREFIX.length + 1)
      : undefined;
    const field = WINDOW_FIELDS.find((f) => f === sub);
    if (field) fields[field] = fields[field] ? `${fields[field]} ${c.message}` : c.message;
    else rest.push(c.field ? `${c.field}: ${c.message}` : c.message);
  }
  const placed = Object.keys(fields).length > 0;
  return {
    fields,
    general: !placed ? [message, ...rest].join(' ') : rest.length > 0 ? rest.join(' ') : undefined,
  };
}
