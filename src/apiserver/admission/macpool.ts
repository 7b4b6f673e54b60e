// Admission for MacPools: ranges must be valid unicast MAC ranges that overlap no other pool.
import { MacError, macToNumber, parseMac } from '../../mac/mac.ts';
import { Invalid, fieldInvalid, fieldRequired, type StatusCause } from '../../resources/errors.ts';
import type { MacPool } from '../../resources/types.ts';
import type { ResourceStore } from '../../store/types.ts';
import type { AdmissionPlugin, AdmissionRequest } from './types.ts';

interface Span {
  start: number;
  end: number;
}

export function macPoolAdmission(store: ResourceStore): AdmissionPlugin {
  return {
    kinds: ['MacPool'],
    async admit(req: AdmissionRequest): Promise<void> {
      if (req.operation === 'delete' || !req.object) return;
      const pool = req.object as MacPool;
      const causes: StatusCause[] = [];
      const ranges = pool.spec?.ranges;
      if (!Array.isArray(ranges) || ranges.length === 0) {
        throw new Invalid(`MacPool "${pool.metadata.name}" is invalid`, [
          fieldRequired('spec.ranges', 'at least one range {start, end} is required'),
        ]);
      }
      const spans: Span[] = [];
      ranges.forEach((r, i) => {
        const span = parseRange(r, `spec.ranges[${i}]`, causes);
        if (span) spans.push(span);
      });
      const q = pool.spec.quarantineSeconds;
      if (q !== undefined && (!Number.isInteger(q) || q < 0 || q > 30 * 86400)) {
        causes.push(
          fieldInvalid(
            'spec.quarantineSeconds',
            'must be a whole number of seconds from 0 to 2592000 (30 days)',
          ),
        );
      }
      spans.forEach((a, i) =>
        spans.slice(i + 1).forEach((b, j) => {
          if (a.start <= b.end && b.start <= a.end)
            causes.push(fieldInvalid(`spec.ranges[${i + 1 + j}]`, `overlaps spec.ranges[${i}]`));
        }),
      );
      const others = (await store.list('MacPool')).items as MacPool[];
      for (const other of others) {
        if (other.metadata.name === pool.metadata.name) continue;
        for (const r of other.spec.ranges) {
          const o = parseRange(r, '', []);
          spans.forEach((s, i) => {
            if (o && s.start <= o.end && o.start <= s.end) {
              causes.push(
                fieldInvalid(
                  `spec.ranges[${i}]`,
                  `overlaps MacPool ${other.metadata.name} (${r.start}–${r.end})`,
                ),
              );
            }
          });
        }
      }
      if (causes.length > 0)
        throw new Invalid(`MacPool "${pool.metadata.name}" is invalid`, causes, {
          name: pool.metadata.name,
          group: 'harrow.io',
          kind: 'MacPool',
        });
      pool.spec.ranges = ranges.map((r) => ({ start: parseMac(r.start), end: parseMac(r.end) }));
    },
  };
}

function parseRange(r: unknown, field: string, causes: StatusCause[]): Span | undefined {
  const range = r as { start?: unknown; end?: unknown };
  const bound = (key: 'start' | 'end'): number | undefined => {
    const v = range?.[key];
    if (typeof v !== 'string') {
      causes.push(fieldRequired(`${field}.${key}`, 'a MAC address is required'));
      return undefined;
    }
    try {
      return macToNumber(parseMac(v));
    } catch (e) {
      if (!(e instanceof MacError)) throw e;
      causes.push(fieldInvalid(`${field}.${key}`, e.message));
      return undefined;
    }
  };
  const start = bound('start');
  const end = bound('end');
  if (start === undefined || end === undefined) return undefined;
  if (start > end) {
    causes.push(fieldInvalid(field, 'start must not be after end'));
    return undefined;
  }
  // The first octet is the same across a range of a sane size only if it does not cross a multicast boundary; the
  // allocator skips multicast addresses, so a range is valid as long as it holds at least one unicast address.
  return { start, end };
}
