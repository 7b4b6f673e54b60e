// Pure 5-field cron (minute hour day-of-month month day-of-week) and its next start in an IANA time zone via Intl.

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

export interface CronSchedule {
  source: string;
  minutes: readonly boolean[];
  hours: readonly boolean[];
  /** Index 1..31. */
  daysOfMonth: readonly boolean[];
  /** Index 1..12. */
  months: readonly boolean[];
  /** Index 0..6, Sunday 0. */
  daysOfWeek: readonly boolean[];
  /** Vixie cron: when both day fields are restricted (neither starts with `*`), a day matches if either does. */
  domRestricted: boolean;
  dowRestricted: boolean;
}

const MONTH_NAMES = [
  'JAN',
  'FEB',
  'MAR',
  'APR',
  'MAY',
  'JUN',
  'JUL',
  'AUG',
  'SEP',
  'OCT',
  'NOV',
  'DEC',
];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  field: CronField;
  min: number;
  max: number;
  names?: readonly string[];
  /** The first name's number (JAN = 1, SUN = 0). */
  nameBase?: number;
}

const SPECS: readonly FieldSpec[] = [
  { field: 'minute', min: 0, max: 59 },
  { field: 'hour', min: 0, max: 23 },
  { field: 'day-of-month', min: 1, max: 31 },
  { field: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  // 7 is Sunday too, as in every cron.
  { field: 'day-of-week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 },
];

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function parseValue(text: string, spec: FieldSpec): number {
  const upper = text.toUpperCase();
  if (spec.names) {
    const i = spec.names.indexOf(upper);
    if (i >= 0) return i + (spec.nameBase ?? 0);
  }
  if (!/^\d+$/.test(text)) {
    const names = spec.names ? ` or a name (${spec.names.join(', ')})` : '';
    throw new CronSyntaxError(
      spec.field,
      `${JSON.stringify(text)} is not a number from ${spec.min} to ${spec.max}${names}`,
    );
  }
  const n = Number(text);
  if (n < spec.min || n > spec.max)
    throw new CronSyntaxError(spec.field, `${n} is out of range ${spec.min}-${spec.max}`);
  return n;
}

function parseField(text: string, spec: FieldSpec): boolean[] {
  const set = new Array<boolean>(spec.max + 1).fill(false);
  if (text === '') throw new CronSyntaxError(spec.field, 'is empty');
  for (const part of text.split(',')) {
    if (part === '')
      throw new CronSyntaxError(spec.field, `${JSON.stringify(text)} has an empty list item`);
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined)
      throw new CronSyntaxError(spec.field, `${JSON.stringify(part)} has more than one /`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        throw new CronSyntaxError(
          spec.field,
          `step ${JSON.stringify(stepText)} must be a whole number of at least 1`,
        );
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = spec.min;
      hi = spec.field === 'day-of-week' ? 6 : spec.max;
    } else {
      const bounds = (range as string).split('-');
      if (bounds.length > 2)
        throw new CronSyntaxError(spec.field, `${JSON.stringify(range)} is not a range like 1-5`);
      lo = parseValue(bounds[0] as string, spec);
      // `a/n` means from a to the field's end, as cronie reads it.
      hi =
        bounds.length === 2
          ? parseValue(bounds[1] as string, spec)
          : stepText !== undefined
            ? spec.max
            : lo;
      if (hi < lo)
        throw new CronSyntaxError(
          spec.field,
          `range ${JSON.stringify(range)} runs backwards (${lo} > ${hi})`,
        );
    }
    for (let v = lo; v <= hi; v += step) set[v] = true;
  }
  return set;
}

/** Parses a 5-field cron expression or a macro (@daily, @weekly, …); throws CronSyntaxError naming the field. */
export function parseCron(expression: string): CronSchedule {
  const source = expression.trim();
  const expanded = MACROS[source.toLowerCase()] ?? source;
  if (expanded.startsWith('@'))
    throw new CronSyntaxError(
      'expression',
      `unknown macro ${JSON.stringify(source)} (one of ${Object.keys(MACROS).join(', ')})`,
    );
  const parts = expanded.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5) {
    throw new CronSyntaxError(
      'expression',
      `${JSON.stringify(source)} has ${parts.length} field(s); expected 5: minute hour day-of-month month day-of-week`,
    );
  }
  const [minutes, hours, dom, months, dowRaw] = parts.map((p, i) =>
    parseField(p, SPECS[i] as FieldSpec),
  ) as [boolean[], boolean[], boolean[], boolean[], boolean[]];
  const dow = dowRaw.slice(0, 7);
  if (dowRaw[7]) dow[0] = true;
  const schedule: CronSchedule = {
    source,
    minutes,
    hours,
    daysOfMonth: dom,
    months,
    daysOfWeek: dow,
    domRestricted: !(parts[2] as string).startsWith('*'),
    dowRestricted: !(parts[4] as string).startsWith('*'),
  };
  if (schedule.domRestricted && !schedule.dowRestricted) {
    // e.g. `0 0 30 2 *`: a schedule that never fires is a typo, not a window.
    const possible = months.some(
      (on, m) => on && dom.some((d, day) => d && day >= 1 && day <= maxDaysOf(m)),
    );
    if (!possible)
      throw new CronSyntaxError(
        'day-of-month',
        `no selected day occurs in the selected month(s) of ${JSON.stringify(source)}`,
      );
  }
  return schedule;
}

const maxDaysOf = (month: number): number =>
  month === 2 ? 29 : [4, 6, 9, 11].includes(month) ? 30 : 31;

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

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
 * The instant of a wall-clock time, disambiguated as Temporal's `compatible`: a time that occurs twice (clocks go
 * back) is its earlier occurrence; a time that does not occur (clocks go forward) moves forward by the gap.
 */
export function zonedInstant(timeZone: string, wall: number): number {
  const before = offsetAt(timeZone, wall - DAY_MS);
  const after = offsetAt(timeZone, wall + DAY_MS);
  const valid = [wall - before, wall - after].filter((t) => t + offsetAt(timeZone, t) === wall);
  if (valid.length > 0) return Math.min(...valid);
  return wall - before;
}

function dayMatches(s: CronSchedule, year: number, month: number, day: number): boolean {
  if (!s.months[month]) return false;
  const dom = s.daysOfMonth[day] === true;
  const dow = s.daysOfWeek[new Date(Date.UTC(year, month - 1, day)).getUTCDay()] === true;
  if (s.domRestricted && s.dowRestricted) return dom || dow;
  return dom && dow;
}

/** The earliest start on one local day that is after `afterMs`, if any. */
function earliestOnDay(
  s: CronSchedule,
  timeZone: string,
  dayWall: number,
  afterMs: number,
): number | undefined {
  // Every instant of a local day lies within 14 h of its wall-clock midnight read as UTC.
  const o1 = offsetAt(timeZone, dayWall - 14 * 3_600_000);
  const o2 = offsetAt(timeZone, dayWall + DAY_MS + 14 * 3_600_000);
  let best: number | undefined;
  for (let h = 0; h < 24; h++) {
    if (!s.hours[h]) continue;
    for (let m = 0; m < 60; m++) {
      if (!s.minutes[m]) continue;
      const wall = dayWall + (h * 60 + m) * MINUTE_MS;
      // No offset change near this day: wall → instant is one subtraction, and the first later one is the earliest.
      if (o1 === o2) {
        const t = wall - o1;
        if (t > afterMs) return t;
        continue;
      }
      const t = zonedInstant(timeZone, wall);
      if (t > afterMs && (best === undefined || t < best)) best = t;
    }
  }
  return best;
}

// Feb 29 on a given weekday can be 28 years away; a schedule is checked to fire at parse time, so this only bounds the loop.
const SEARCH_DAYS = 366 * 29;

/** The first start of the schedule strictly after `after`, in `timeZone` (IANA name). */
export function nextCronTime(s: CronSchedule, timeZone: string, after: Date): Date {
  const afterMs = after.getTime();
  const l = localTime(timeZone, afterMs);
  // From the local day before: a forward-shifted time of that day can land after `after`.
  let dayWall = Date.UTC(l.year, l.month - 1, l.day) - DAY_MS;
  let found: number | undefined;
  for (let i = 0; i < SEARCH_DAYS; i++, dayWall += DAY_MS) {
    const d = new Date(dayWall);
    if (!dayMatches(s, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())) continue;
    const t = earliestOnDay(s, timeZone, dayWall, afterMs);
    if (t === undefined) continue;
    if (found !== undefined) return new Date(Math.min(found, t));
    found = t;
    // A DST shift can move the next matching day's first start before this one's; look at one more matching day.
    const o1 = offsetAt(timeZone, dayWall - DAY_MS);
    const o2 = offsetAt(timeZone, dayWall + 3 * DAY_MS);
    if (o1 === o2) return new Date(t);
  }
  if (found !== undefined) return new Date(found);
  throw new Error(
    `cron ${JSON.stringify(s.source)} has no start within ${Math.round(SEARCH_DAYS / 366)} years`,
  );
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
