// Maintenance-window schedules: 5-field cron expressions read by croner, their next start in an IANA time zone, and
// window durations.
import { Cron } from 'croner';

export const CRON_FIELDS = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
export type CronField = (typeof CRON_FIELDS)[number];

/** A cron expression that does not parse; `field` names the part at fault (`expression` for the whole). */
export class CronSyntaxError extends Error {
  constructor(
    readonly field: CronField | 'expression',
    message: string,
  ) {
    super(field === 'expression' ? message : `${field} field: ${message}`);
    this.name = 'CronSyntaxError';
  }
}

/** A parsed schedule: the text as written and the 5-field pattern croner reads. */
export interface CronSchedule {
  source: string;
  /** Macros expanded, `a/n` written as `a-max/n`. */
  pattern: string;
}

/** What each field accepts, for messages (croner's own message may name its internal, zero-based value). */
const ALLOWED: Record<CronField, string> = {
  minute: '0-59',
  hour: '0-23',
  'day-of-month': '1-31',
  month: '1-12 or JAN-DEC',
  'day-of-week': '0-7 (0 and 7 are Sunday) or SUN-SAT',
};
const FIELD_MAX = [59, 23, 31, 12, 7];

// The macros every cron knows; croner knows them too, but expanding here keeps the 5-field check in one place.
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const WILDCARD = ['*', '*', '*', '*', '*'];

// croner's "Invalid value for day: -1" names its zero-based day for a 0, and "configuration entry 5" its own count:
// the field name and "out of range" are what the user needs.
const cronMessage = (e: unknown): string => {
  const m = (e instanceof Error ? e.message : String(e)).replace(/^CronPattern: /, '');
  if (/^Invalid value for /.test(m)) return 'is out of range';
  if (/contains illegal characters/.test(m)) return 'is not a number or a name';
  return m;
};

/**
 * Parses a 5-field cron expression or a macro (@daily, @weekly, …); throws CronSyntaxError naming the field. Each field
 * is first read alone (the others `*`), so the error names the field croner refused.
 */
export function parseCron(expression: string): CronSchedule {
  const source = expression.trim();
  const expanded = MACROS[source.toLowerCase()] ?? source;
  if (expanded.startsWith('@'))
    throw new CronSyntaxError(
      'expression',
      `unknown macro ${JSON.stringify(source)} (one of ${Object.keys(MACROS).join(', ')})`,
    );
  const parts = expanded.split(/\s+/).filter((p) => p !== '');
  // croner also reads 6 and 7 fields (seconds, year); a maintenance window is the classic 5.
  if (parts.length !== 5) {
    throw new CronSyntaxError(
      'expression',
      `${JSON.stringify(source)} has ${parts.length} field(s); expected 5: minute hour day-of-month month day-of-week`,
    );
  }
  // cronie reads `a/n` as a to the field's end; croner (OCPS) refuses a stepped single value.
  const fields = parts.map((p, i) =>
    p
      .split(',')
      .map((item) => item.replace(/^(\w+)\/(\d+)$/, `$1-${FIELD_MAX[i]}/$2`))
      .join(','),
  );
  fields.forEach((f, i) => {
    const alone = WILDCARD.map((w, j) => (j === i ? f : w)).join(' ');
    try {
      new Cron(alone, { paused: true, timezone: 'UTC' });
    } catch (e) {
      const field = CRON_FIELDS[i] as CronField;
      throw new CronSyntaxError(
        field,
        `${JSON.stringify(parts[i])} ${cronMessage(e)} (allowed: ${ALLOWED[field]}, lists, ranges, steps)`,
      );
    }
  });
  const pattern = fields.join(' ');
  // e.g. `0 0 30 2 *`: a schedule that never fires is a typo, not a window.
  if (nextStart(pattern, 'UTC', new Date(0)) === undefined)
    throw new CronSyntaxError(
      'day-of-month',
      `no selected day occurs in the selected month(s) of ${JSON.stringify(source)}`,
    );
  return { source, pattern };
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the IANA time zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone === '') return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock time in `timeZone` at an instant. */
export function localTime(timeZone: string, ms: number): LocalTime {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms)))
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  return {
    year: out.year!,
    month: out.month!,
    day: out.day!,
    hour: out.hour!,
    minute: out.minute!,
    second: out.second!,
  };
}

/** Local time minus UTC, in ms, at an instant. */
function offsetAt(timeZone: string, ms: number): number {
  const l = localTime(timeZone, ms);
  return (
    Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - Math.floor(ms / 1000) * 1000
  );
}

/**
 * Whether `c`, an instant read from a wall time `w` with the fixed offset `before`, is the Temporal-"compatible"
 * instant of a `w` that clocks skipped: the zone jumped forward by g between c - g and c.
 */
function inForwardGap(timeZone: string, c: number, before: number): boolean {
  const gap = offsetAt(timeZone, c) - before;
  return gap > 0 && offsetAt(timeZone, c - gap) === before;
}

function nextStart(pattern: string, timeZone: string, after: Date): number | undefined {
  const zoned = new Cron(pattern, { paused: true, timezone: timeZone });
  const t = zoned.nextRun(after)?.getTime();
  if (t === undefined) return undefined;
  // croner runs the first start that falls into a spring-forward gap at the gap's end and skips the gap's other starts
  // (as cronie does). Harrow moves each forward by the gap instead (Temporal's "compatible"): 02:30 in a 02:00→03:00
  // gap opens at 03:30, so the window keeps its place and length. Such a start is the schedule read with the offset
  // before the jump; the jump lies within a day before `after` or just before croner's start.
  let best = zoned.match(new Date(t)) ? t : undefined;
  for (const before of new Set([
    offsetAt(timeZone, after.getTime() - DAY_MS),
    offsetAt(timeZone, t - 1),
  ])) {
    const c = new Cron(pattern, { paused: true, utcOffset: before / MINUTE_MS })
      .nextRun(after)
      ?.getTime();
    if (c !== undefined && (best === undefined || c < best) && inForwardGap(timeZone, c, before))
      best = c;
  }
  return best ?? t;
}

/** The first start of the schedule strictly after `after`, in `timeZone` (IANA name). */
export function nextCronTime(s: CronSchedule, timeZone: string, after: Date): Date {
  const t = nextStart(s.pattern, timeZone, after);
  // parseCron refused schedules that never fire.
  if (t === undefined) throw new Error(`cron ${JSON.stringify(s.source)} has no next start`);
  return new Date(t);
}

/** A recurring window: it opens at each start of `cron` in `timeZone` and stays open `durationMinutes`. */
export interface Window {
  cron: string | CronSchedule;
  durationMinutes: number;
  timeZone: string;
}

export interface WindowOccurrence {
  start: Date;
  end: Date;
}

const scheduleOf = (cron: string | CronSchedule): CronSchedule =>
  typeof cron === 'string' ? parseCron(cron) : cron;

/** When the window next opens, strictly after `after`. */
export function nextWindowStart(cron: string | CronSchedule, timeZone: string, after: Date): Date {
  return nextCronTime(scheduleOf(cron), timeZone, after);
}

/** The occurrence of the window that is open at `at` (start ≤ at < end), if one is; the earliest when several overlap. */
export function windowContaining(window: Window, at: Date): WindowOccurrence | undefined {
  const durationMs = window.durationMinutes * MINUTE_MS;
  const start = nextCronTime(
    scheduleOf(window.cron),
    window.timeZone,
    new Date(at.getTime() - durationMs),
  );
  if (start.getTime() > at.getTime()) return undefined;
  return { start, end: new Date(start.getTime() + durationMs) };
}

/** `2h`, `90m`, `1h30m`, `45` (minutes) → minutes; undefined when it is none of these. */
export function parseWindowDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/.exec(t);
  if (!m || t === '') return undefined;
  return Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** Minutes as the shortest duration text (`2h`, `1h30m`, `45m`). */
export function formatWindowDuration(minutes: number): string {
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const out = `${d ? `${d}d` : ''}${h ? `${h}h` : ''}${m ? `${m}m` : ''}`;
  return out === '' ? '0m' : out;
}
