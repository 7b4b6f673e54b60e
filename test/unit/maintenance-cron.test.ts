// Cron parsing, next start and the open window in IANA time zones (DST included), and window annotation validation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cron } from 'croner';
import fc from 'fast-check';
import {
  CronSyntaxError,
  formatWindowDuration,
  localTime,
  nextWindowStart,
  parseCron,
  parseWindowDuration,
  windowContaining,
} from '../../src/maintenance/cron.ts';
import {
  appliedWindow,
  maintenanceAnnotationCauses,
  planFor,
  windowCauses,
} from '../../src/maintenance/window.ts';
import type { KubeObject } from '../../src/resources/meta.ts';

const at = (iso: string): Date => new Date(iso);
const next = (cron: string, tz: string, after: string): string =>
  nextWindowStart(cron, tz, at(after)).toISOString();

describe('parseCron', () => {
  const starts = (cron: string, from: string, n: number): Date[] => {
    const out: Date[] = [];
    let after = at(from);
    for (let i = 0; i < n; i++) out.push((after = nextWindowStart(cron, 'UTC', after)));
    return out;
  };
  const distinct = (xs: number[]): number[] => [...new Set(xs)].sort((x, y) => x - y);

  it('reads *, lists, ranges, steps and names', () => {
    const s = starts('*/15 1-3,22 1,15 JAN-mar mon-FRI', '2026-01-01T00:00:00Z', 200);
    assert.deepEqual(distinct(s.map((d) => d.getUTCMinutes())), [0, 15, 30, 45]);
    assert.deepEqual(distinct(s.map((d) => d.getUTCHours())), [1, 2, 3, 22]);
    // Both day fields restricted: the 1st and 15th, and every weekday (Vixie cron's OR); never a weekend day but those.
    for (const d of s)
      assert.ok(
        [1, 15].includes(d.getUTCDate()) || (d.getUTCDay() >= 1 && d.getUTCDay() <= 5),
        d.toISOString(),
      );
    assert.ok(s.some((d) => d.getUTCDate() === 1 && d.getUTCDay() === 4));
    // Months JAN-mar only: after March, next January.
    assert.equal(
      next('*/15 1-3,22 1,15 JAN-mar mon-FRI', 'UTC', '2026-03-31T22:45:00Z'),
      '2027-01-01T01:00:00.000Z',
    );
  });

  it('treats 7 as Sunday, a/n as a to the end, and expands macros', () => {
    // 2026-01-01 is a Thursday.
    assert.equal(next('0 0 * * 7', 'UTC', '2026-01-01T00:00:00Z'), '2026-01-04T00:00:00.000Z');
    assert.deepEqual(
      starts('50/5 * * * *', '2026-01-01T00:00:00Z', 3).map((d) => d.toISOString()),
      ['2026-01-01T00:50:00.000Z', '2026-01-01T00:55:00.000Z', '2026-01-01T01:50:00.000Z'],
    );
    assert.equal(next('@weekly', 'UTC', '2026-01-01T00:00:00Z'), '2026-01-04T00:00:00.000Z');
    assert.equal(parseCron('@weekly').source, '@weekly');
  });

  it('refuses the seconds and year fields croner would otherwise read', () => {
    assert.throws(() => parseCron('0 0 2 * * *'), /6 field\(s\); expected 5/);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['0 2 * *', 'expression', /4 field\(s\); expected 5/],
    ['60 2 * * *', 'minute', /"60" is out of range \(allowed: 0-59/],
    ['0 24 * * *', 'hour', /"24" is out of range \(allowed: 0-23/],
    ['0 2 0 * *', 'day-of-month', /"0" is out of range \(allowed: 1-31/],
    ['0 2 * FOO *', 'month', /"FOO" is not a number or a name \(allowed: 1-12 or JAN-DEC/],
    ['0 2 * * SUNDAY', 'day-of-week', /"SUNDAY" .*SUN-SAT/],
    ['0 5-2 * * *', 'hour', /From value is larger than to value/],
    ['*/0 * * * *', 'minute', /illegal stepping: 0/],
    ['1,,2 * * * *', 'minute', /is empty/],
    ['0 0 30 2 *', 'day-of-month', /no selected day occurs/],
    ['@sometimes', 'expression', /unknown macro/],
  ];
  for (const [expr, field, message] of bad) {
    it(`rejects ${JSON.stringify(expr)} naming the ${field} field`, () => {
      assert.throws(
        () => parseCron(expr),
        (e: unknown) =>
          e instanceof CronSyntaxError && e.field === field && message.test(e.message),
      );
    });
  }
});

describe('nextWindowStart', () => {
  it('finds the next Sunday 02:00 in Berlin (winter and summer offsets)', () => {
    assert.equal(
      next('0 2 * * SUN', 'Europe/Berlin', '2026-11-26T23:00:00Z'),
      '2026-11-29T01:00:00.000Z',
    );
    assert.equal(
      next('0 2 * * SUN', 'Europe/Berlin', '2026-07-01T00:00:00Z'),
      '2026-07-05T00:00:00.000Z',
    );
  });

  it('is strictly after `after`', () => {
    assert.equal(next('0 * * * *', 'UTC', '2026-01-01T05:00:00Z'), '2026-01-01T06:00:00.000Z');
    assert.equal(next('0 * * * *', 'UTC', '2026-01-01T04:59:59.999Z'), '2026-01-01T05:00:00.000Z');
  });

  it('ORs day-of-month and day-of-week when both are restricted (Vixie cron)', () => {
    // 2026-03-01 is a Sunday; the 13th is a Friday.
    assert.equal(next('0 0 13 * FRI', 'UTC', '2026-03-01T00:00:00Z'), '2026-03-06T00:00:00.000Z');
    assert.equal(next('0 0 13 * *', 'UTC', '2026-03-01T00:00:00Z'), '2026-03-13T00:00:00.000Z');
  });

  it('moves a start in the spring-forward gap forward by the gap (Temporal "compatible")', () => {
    // Berlin 2026-03-29: 02:00 CET → 03:00 CEST; 02:30 does not exist and becomes 03:30 CEST = 01:30Z.
    assert.equal(
      next('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z'),
      '2026-03-29T01:30:00.000Z',
    );
    assert.equal(
      next('30 2 * * *', 'Europe/Berlin', '2026-03-29T01:30:00Z'),
      '2026-03-30T00:30:00.000Z',
    );
  });

  it('moves every start in the gap forward, also when asked from inside the shifted hour', () => {
    // 02:00, 02:20, 02:40 do not exist on 2026-03-29 in Berlin: 03:00, 03:20, 03:40 CEST.
    assert.equal(
      next('*/20 2 * * *', 'Europe/Berlin', '2026-03-29T00:59:00Z'),
      '2026-03-29T01:00:00.000Z',
    );
    assert.equal(
      next('*/20 2 * * *', 'Europe/Berlin', '2026-03-29T01:00:00Z'),
      '2026-03-29T01:20:00.000Z',
    );
    assert.equal(
      next('*/20 2 * * *', 'Europe/Berlin', '2026-03-29T01:20:00Z'),
      '2026-03-29T01:40:00.000Z',
    );
    // A start of its own at the gap's end (03:00) comes before a shifted 02:30 (03:30).
    assert.equal(
      next('0,30 2,3 * * *', 'Europe/Berlin', '2026-03-29T00:30:00Z'),
      '2026-03-29T01:00:00.000Z',
    );
    // A yearly start in the gap, asked for from the summer before (another offset).
    assert.equal(
      next('30 2 29 3 *', 'Europe/Berlin', '2025-06-01T00:00:00Z'),
      '2026-03-29T01:30:00.000Z',
    );
    // A start after the gap, asked for from just after it, is not taken for a shifted one.
    assert.equal(
      next('5 3 * * *', 'Europe/Berlin', '2026-03-29T01:10:00Z'),
      '2026-03-30T01:05:00.000Z',
    );
    // A 30-minute jump (Lord Howe, 2026-10-04 02:00 → 02:30): 02:10 opens at 02:40.
    assert.equal(
      next('10 2 * * *', 'Australia/Lord_Howe', '2026-10-03T12:00:00Z'),
      '2026-10-03T15:40:00.000Z',
    );
  });

  it('runs a start in the fall-back hour once, at its first occurrence', () => {
    // Berlin 2026-10-25: 03:00 CEST → 02:00 CET; 02:30 happens at 00:30Z and again at 01:30Z.
    assert.equal(
      next('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z'),
      '2026-10-25T00:30:00.000Z',
    );
    assert.equal(
      next('30 2 * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z'),
      '2026-10-26T01:30:00.000Z',
    );
  });

  it('keeps New York windows at local time across DST', () => {
    assert.equal(
      next('0 1 * * *', 'America/New_York', '2026-03-07T12:00:00Z'),
      '2026-03-08T06:00:00.000Z',
    );
    assert.equal(
      next('0 1 * * *', 'America/New_York', '2026-03-08T12:00:00Z'),
      '2026-03-09T05:00:00.000Z',
    );
  });

  it('finds Feb 29', () => {
    assert.equal(next('0 0 29 2 *', 'UTC', '2026-01-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
  });

  const zones = [
    'UTC',
    'Europe/Berlin',
    'America/New_York',
    'Australia/Lord_Howe',
    'Asia/Kolkata',
    'Pacific/Chatham',
  ];
  const crons = [
    '0 2 * * SUN',
    '*/7 * * * *',
    '30 1-3 * * *',
    '15 0 1,15 * *',
    '0 12 * * MON-FRI',
    '45 23 31 * *',
  ];

  it('property: the start is after `after`, matches the cron in local time, and nothing in between does', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...crons),
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }),
        (cron, tz, afterMs) => {
          const s = parseCron(cron);
          const start = nextWindowStart(s, tz, new Date(afterMs)).getTime();
          assert.ok(start > afterMs);
          const l = localTime(tz, start);
          // A start moved forward out of a DST gap is not at its cron minute; every other start is.
          const exact = new Cron(s.pattern, { timezone: tz, paused: true }).match(new Date(start));
          // (Every gap is at most an hour: the offset an hour before a shifted start is the one before the jump.)
          const offset = (ms: number): number => {
            const w = localTime(tz, ms);
            return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - ms;
          };
          const shifted = offset(start - 3_600_000) < offset(start);
          assert.ok(
            exact || shifted,
            `${cron} ${tz}: ${new Date(start).toISOString()} is ${JSON.stringify(l)}`,
          );
          // No earlier start: the next start after (start - 1 ms) is the start itself.
          assert.equal(nextWindowStart(s, tz, new Date(start - 1)).getTime(), start);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('windowContaining', () => {
  const w = { cron: '0 2 * * SUN', durationMinutes: 120, timeZone: 'Europe/Berlin' };

  it('contains [start, end) and nothing else', () => {
    assert.equal(windowContaining(w, at('2026-11-29T00:59:59Z')), undefined);
    assert.deepEqual(windowContaining(w, at('2026-11-29T01:00:00Z')), {
      start: at('2026-11-29T01:00:00Z'),
      end: at('2026-11-29T03:00:00Z'),
    });
    assert.equal(
      windowContaining(w, at('2026-11-29T02:59:59Z'))?.start.toISOString(),
      '2026-11-29T01:00:00.000Z',
    );
    assert.equal(windowContaining(w, at('2026-11-29T03:00:00Z')), undefined);
  });

  it('property: a window start is inside its window, and the instant before a start outside (short windows)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('0 2 * * SUN', '0 */6 * * *', '30 3 1 * *'),
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'),
        fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2029, 0, 1) }),
        (cron, tz, ms) => {
          const win = { cron, durationMinutes: 60, timeZone: tz };
          const start = nextWindowStart(cron, tz, new Date(ms));
          assert.equal(windowContaining(win, start)?.start.getTime(), start.getTime());
          assert.equal(windowContaining(win, new Date(start.getTime() - 1)), undefined);
          assert.equal(windowContaining(win, new Date(start.getTime() + 3_600_000)), undefined);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('durations', () => {
  it('parses and formats', () => {
    assert.equal(parseWindowDuration('2h'), 120);
    assert.equal(parseWindowDuration('1h30m'), 90);
    assert.equal(parseWindowDuration('45'), 45);
    assert.equal(parseWindowDuration('1d'), 1440);
    assert.equal(parseWindowDuration('2 hours'), undefined);
    assert.equal(parseWindowDuration(''), undefined);
    assert.equal(formatWindowDuration(90), '1h30m');
  });
});

describe('window annotations', () => {
  const field = 'metadata.annotations[harrow.io/maintenance-window]';
  const obj = (kind: string, annotations: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind,
    metadata: { name: 'x', namespace: 'ns', annotations },
  });
  const json = (o: unknown): Record<string, string> => ({
    'harrow.io/maintenance-window': JSON.stringify(o),
  });

  it('names every bad field', () => {
    const { causes } = windowCauses(
      JSON.stringify({
        schedule: '0 25 * * *',
        duration: '2 hours',
        timeZone: 'Mars/Olympus',
        extra: 1,
      }),
      field,
    );
    assert.deepEqual(causes.map((c) => c.field).sort(), [
      `${field}.duration`,
      `${field}.extra`,
      `${field}.schedule`,
      `${field}.timeZone`,
    ]);
    assert.match(
      causes.find((c) => c.field.endsWith('.schedule'))!.message,
      /hour field: "25" is out of range/,
    );
    assert.deepEqual(
      windowCauses('not json', field).causes.map((c) => c.field),
      [field],
    );
    assert.deepEqual(
      windowCauses('{}', field).causes.map((c) => c.reason),
      ['FieldValueRequired', 'FieldValueRequired'],
    );
  });

  it('lets an unchanged bad value through and checks the planned time', () => {
    const bad = obj('VirtualMachine', json({ schedule: 'x' }));
    assert.deepEqual(maintenanceAnnotationCauses(bad, bad), []);
    assert.equal(maintenanceAnnotationCauses(bad, undefined).length, 2);
    const plan = obj('VirtualMachine', { 'harrow.io/restart-scheduled-at': 'tomorrow' });
    assert.deepEqual(
      maintenanceAnnotationCauses(plan, undefined).map((c) => c.field),
      ['metadata.annotations[harrow.io/restart-scheduled-at]'],
    );
  });

  it("applies the VM's window over its namespace's, defaulting the zone to UTC", () => {
    const ns = obj('Namespace', json({ schedule: '0 3 * * *', duration: '1h' }));
    const vm = obj(
      'VirtualMachine',
      json({ schedule: '0 2 * * SUN', duration: '2h', timeZone: 'Europe/Berlin' }),
    );
    assert.equal(appliedWindow(vm, ns)?.source, 'VirtualMachine');
    assert.equal(appliedWindow(obj('VirtualMachine', {}), ns)?.window.timeZone, 'UTC');
    assert.equal(appliedWindow(obj('VirtualMachine', {}), obj('Namespace', {})), undefined);
  });

  it('plans now inside an open window, else at the next start', () => {
    const w = appliedWindow(
      obj(
        'VirtualMachine',
        json({ schedule: '0 2 * * SUN', duration: '2h', timeZone: 'Europe/Berlin' }),
      ),
      undefined,
    )!.window;
    assert.equal(planFor(w, at('2026-11-29T01:30:00Z')).toISOString(), '2026-11-29T01:30:00.000Z');
    assert.equal(planFor(w, at('2026-11-29T03:00:00Z')).toISOString(), '2026-12-06T01:00:00.000Z');
  });
});
