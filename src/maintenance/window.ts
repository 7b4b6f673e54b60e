// Maintenance windows as annotations: parsing and validation (errors name the field), which window applies to a VM,
// and when a restart asked for "in the window" is planned.
import { fieldInvalid, fieldRequired, Invalid, type StatusCause } from '../resources/errors.ts';
import type { KubeObject } from '../resources/meta.ts';
import { ANNOTATION_MAINTENANCE_WINDOW } from '../resources/types.ts';
import {
  CronSyntaxError,
  formatWindowDuration,
  isValidTimeZone,
  localTime,
  nextWindowStart,
  parseCron,
  parseWindowDuration,
  windowContaining,
  type CronSchedule,
  type WindowOccurrence,
} from './cron.ts';

/**
 * VM annotation: the instant (RFC 3339, UTC) a restart is planned for; written by the schedule-restart subresource and
 * by the maintenance controller when it re-plans, removed when the restart is carried out or cancelled.
 */
export const ANNOTATION_RESTART_SCHEDULED_AT = 'harrow.io/restart-scheduled-at';
/**
 * VM annotation: the uid of the instance the planned restart is to replace. Once another instance runs (the VM was
 * restarted, or stopped and started, in the meantime) the change the restart was for has been applied: the plan is dropped.
 */
export const ANNOTATION_RESTART_SCHEDULED_INSTANCE = 'harrow.io/restart-scheduled-instance';
/** VM condition: True while a restart is planned; its message names the planned time and the window. */
export const CONDITION_RESTART_SCHEDULED = 'RestartScheduled';

/** The annotation's JSON form. */
export interface WindowSpec {
  schedule: string;
  duration: string;
  timeZone?: string;
}

export interface MaintenanceWindow {
  schedule: string;
  cron: CronSchedule;
  durationMinutes: number;
  timeZone: string;
}

// A window longer than a month is not a window; a restart could then happen at any time.
const MAX_DURATION_MINUTES = 31 * 1440;

/** The annotation's causes (field paths under `field`), empty when it is valid. */
export function windowCauses(
  raw: string,
  field: string,
): { window?: MaintenanceWindow; causes: StatusCause[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {
      causes: [
        fieldInvalid(
          field,
          'must be JSON: {"schedule": "0 2 * * SUN", "duration": "2h", "timeZone": "Europe/Berlin"}',
        ),
      ],
    };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      causes: [fieldInvalid(field, 'must be a JSON object with schedule, duration and timeZone')],
    };
  }
  const o = parsed as Record<string, unknown>;
  const causes: StatusCause[] = [];
  for (const k of Object.keys(o)) {
    if (!['schedule', 'duration', 'timeZone'].includes(k))
      causes.push(
        fieldInvalid(`${field}.${k}`, 'unknown field (expected schedule, duration, timeZone)'),
      );
  }
  let cron: CronSchedule | undefined;
  if (o.schedule === undefined)
    causes.push(
      fieldRequired(`${field}.schedule`, 'a 5-field cron expression, e.g. "0 2 * * SUN"'),
    );
  else if (typeof o.schedule !== 'string')
    causes.push(fieldInvalid(`${field}.schedule`, 'must be a string (a cron expression)'));
  else {
    try {
      cron = parseCron(o.schedule);
    } catch (e) {
      if (!(e instanceof CronSyntaxError)) throw e;
      causes.push(
        fieldInvalid(`${field}.schedule`, `cron ${JSON.stringify(o.schedule)}: ${e.message}`),
      );
    }
  }
  let durationMinutes: number | undefined;
  if (o.duration === undefined)
    causes.push(
      fieldRequired(`${field}.duration`, 'how long the window stays open, e.g. "2h" or "90m"'),
    );
  else {
    durationMinutes = typeof o.duration === 'string' ? parseWindowDuration(o.duration) : undefined;
    if (durationMinutes === undefined)
      causes.push(
        fieldInvalid(`${field}.duration`, 'must be a duration such as "2h", "90m" or "1h30m"'),
      );
    else if (durationMinutes < 1 || durationMinutes > MAX_DURATION_MINUTES) {
      causes.push(
        fieldInvalid(
          `${field}.duration`,
          `must be from 1m to ${formatWindowDuration(MAX_DURATION_MINUTES)}`,
        ),
      );
    }
  }
  const timeZone = o.timeZone === undefined ? 'UTC' : o.timeZone;
  if (typeof timeZone !== 'string' || !isValidTimeZone(timeZone)) {
    causes.push(
      fieldInvalid(
        `${field}.timeZone`,
        `${JSON.stringify(timeZone)} is not an IANA time zone (e.g. "Europe/Berlin", "UTC")`,
      ),
    );
  }
  if (causes.length > 0 || !cron || durationMinutes === undefined) return { causes };
  return {
    window: { schedule: cron.source, cron, durationMinutes, timeZone: timeZone as string },
    causes,
  };
}

export const windowField = (annotation = ANNOTATION_MAINTENANCE_WINDOW): string =>
  `metadata.annotations[${annotation}]`;

/** The window an object's annotation names, undefined when it has none; Invalid naming the field when it is bad. */
export function windowOf(o: KubeObject): MaintenanceWindow | undefined {
  const raw = o.metadata.annotations?.[ANNOTATION_MAINTENANCE_WINDOW];
  if (raw === undefined) return undefined;
  const { window, causes } = windowCauses(raw, windowField());
  if (!window)
    throw new Invalid(
      `${o.kind} "${o.metadata.name}": invalid maintenance window: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`,
      causes,
    );
  return window;
}

/** Causes for the maintenance annotations of a Namespace or VM that changed from `old` (an unchanged bad value stays). */
export function maintenanceAnnotationCauses(
  o: KubeObject,
  old: KubeObject | undefined,
): StatusCause[] {
  const causes: StatusCause[] = [];
  const raw = o.metadata.annotations?.[ANNOTATION_MAINTENANCE_WINDOW];
  if (raw !== undefined && raw !== old?.metadata.annotations?.[ANNOTATION_MAINTENANCE_WINDOW])
    causes.push(...windowCauses(raw, windowField()).causes);
  const at = o.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT];
  if (
    at !== undefined &&
    at !== old?.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT] &&
    Number.isNaN(Date.parse(at))
  ) {
    causes.push(
      fieldInvalid(
        windowField(ANNOTATION_RESTART_SCHEDULED_AT),
        'must be an RFC 3339 time, e.g. 2026-11-29T01:00:00Z',
      ),
    );
  }
  return causes;
}

export interface AppliedWindow {
  window: MaintenanceWindow;
  /** Where it comes from: the VM's own annotation wins over its namespace's. */
  source: 'VirtualMachine' | 'Namespace';
}

/** The window that applies to a VM: its own annotation, else its namespace's; undefined when neither names one. */
export function appliedWindow(
  vm: KubeObject,
  namespace: KubeObject | undefined,
): AppliedWindow | undefined {
  const own = windowOf(vm);
  if (own) return { window: own, source: 'VirtualMachine' };
  const ns = namespace ? windowOf(namespace) : undefined;
  return ns ? { window: ns, source: 'Namespace' } : undefined;
}

export const openAt = (w: MaintenanceWindow, at: Date): WindowOccurrence | undefined =>
  windowContaining({ cron: w.cron, durationMinutes: w.durationMinutes, timeZone: w.timeZone }, at);

/** When a restart asked for now goes: now if the window is open (it fits), else the window's next start. */
export function planFor(w: MaintenanceWindow, now: Date): Date {
  return openAt(w, now) ? now : nextWindowStart(w.cron, w.timeZone, now);
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `2026-11-29 02:00 Europe/Berlin`: the wall-clock time operators think in. */
export function wallClock(at: Date, timeZone: string): string {
  const l = localTime(timeZone, at.getTime());
  return `${l.year}-${pad(l.month)}-${pad(l.day)} ${pad(l.hour)}:${pad(l.minute)} ${timeZone}`;
}

export const describeWindow = (a: AppliedWindow, namespace: string): string =>
  `window "${a.window.schedule}" (${formatWindowDuration(a.window.durationMinutes)}, ${a.window.timeZone}) from ${
    a.source === 'VirtualMachine' ? "the VM's annotation" : `namespace ${namespace}'s annotation`
  }`;

/** The RestartScheduled message: the planned instant, in UTC and in the window's zone, and which window. */
export function plannedMessage(at: Date, a: AppliedWindow, namespace: string, prefix = ''): string {
  return `${prefix}restart planned for ${at.toISOString()} (${wallClock(at, a.window.timeZone)}) in maintenance ${describeWindow(a, namespace)}`;
}
