// Filtering and export of audit records as the Audit log page offers them.
import type { AuditRecord } from '../../../src/resources/types.ts';

export interface AuditFilter {
  /** Name of the VM (or other object) the record is about; '' for all. */
  vm: string;
  /** User, matched as a case-insensitive substring; '' for all. */
  user: string;
  /** ISO instants bounding spec.timestamp, inclusive; '' for open. */
  from: string;
  to: string;
}

export const emptyAuditFilter: AuditFilter = { vm: '', user: '', from: '', to: '' };

export function filterAudit(records: AuditRecord[], f: AuditFilter): AuditRecord[] {
  const from = f.from ? Date.parse(f.from) : undefined;
  const to = f.to ? Date.parse(f.to) : undefined;
  const user = f.user.trim().toLowerCase();
  return records
    .filter((r) => {
      if (f.vm && r.spec.resource.name !== f.vm) return false;
      if (user && !r.spec.user.toLowerCase().includes(user)) return false;
      const t = Date.parse(r.spec.timestamp);
      if (from !== undefined && !Number.isNaN(from) && t < from) return false;
      if (to !== undefined && !Number.isNaN(to) && t > to) return false;
      return true;
    })
    .sort((a, b) => b.spec.timestamp.localeCompare(a.spec.timestamp));
}

/** The JSON document the Export button downloads: the records as the API returned them, newest first. */
export function auditExport(
  records: AuditRecord[],
  namespace: string,
  f: AuditFilter,
  now: Date,
): string {
  return JSON.stringify(
    {
      kind: 'AuditRecordList',
      apiVersion: 'harrow.io/v1',
      namespace,
      filter: f,
      exportedAt: now.toISOString(),
      items: records,
    },
    null,
    2,
  );
}

/** A short human reading of one change value (MACs and numbers as they are, objects as compact JSON). */
export function showValue(v: unknown): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
