// Admission for MacPools: ranges must be non-empty unicast MAC ranges holding a usable address and overlapping no other
// range, of this pool or another.
import {
  MASQUERADE_BRIDGE_MAC,
  MacError,
  isMulticast,
  macToNumber,
  numberToMac,
  parseMac,
} from '../../mac/mac.ts';
import { usableAddresses } from '../../pool/index.ts';
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
      const value = macToNumber(parseMac(v));
      // As KubeMacPool: each end of a range is a unicast address, so a range is not a block of group addresses.
      if (isMulticast(value)) {
        causes.push(
          fieldInvalid(
            `${field}.${key}`,
            `${parseMac(v)} is a multicast address (bit 0 of the first octet is set); a range's ends must be unicast addresses, e.g. starting with 02`,
          ),
        );
        return undefined;
      }
      if (value === 0) {
        causes.push(fieldInvalid(`${field}.${key}`, 'the all-zero address is not a NIC address'));
        return undefined;
      }
      return value;
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
    causes.push(
      fieldInvalid(
        `${field}.end`,
        `${numberToMac(end)} is before start ${numberToMac(start)}: a range must not be empty`,
      ),
    );
    return undefined;
  }
  // Multicast addresses inside a range and the reserved ones (02:00:00:00:00:00, masquerade's bridge) are skipped by
  // the pool; a range of nothing else would make every allocation from it fail.
  if (usableAddresses({ start: numberToMac(start), end: numberToMac(end) }) === 0) {
    causes.push(
      fieldInvalid(
        field,
        `${numberToMac(start)}–${numberToMac(end)} holds no address the pool may hand out (${MASQUERADE_BRIDGE_MAC} is reserved by KubeVirt for masquerade)`,
      ),
    );
    return undefined;
  }
  return { start, end };
}
