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

/** The kinds a record about a virtual machine names: the VM itself and its instance (same name). */
const VM_KINDS = new Set(['VirtualMachine', 'VirtualMachineInstance']);

export const isAboutVm = (r: AuditRecord): boolean => VM_KINDS.has(r.spec.resource.kind);

/** The VM names the records mention, sorted: what the page's VM filter offers (no pods, networks or pools). */
export const auditedVmNames = (records: AuditRecord[]): string[] =>
  [...new Set(records.filter(isAboutVm).map((r) => r.spec.resource.name))].sort();

export function filterAudit(records: AuditRecord[], f: AuditFilter): AuditRecord[] {
  const from = f.from ? Date.parse(f.from) : undefined;
  const to = f.to ? Date.parse(f.to) : undefined;
  const user = f.user.trim().toLowerCase();
  return records
    .filter((r) => {
      if (f.vm && (r.spec.resource.name !== f.vm || !isAboutVm(r))) return false;
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

/** KubeVirt's state change requests (what start/stop/restart write) in words: "stop, then start". */
function stateChangeWords(v: unknown): string | undefined {
  if (!Array.isArray(v)) return undefined;
  const actions = v.map((r) =>
    typeof r === 'object' && r !== null && typeof (r as { action?: unknown }).action === 'string'
      ? ((r as { action: string }).action as string).toLowerCase()
      : undefined,
  );
  if (actions.some((a) => a === undefined)) return undefined;
  if (actions.length === 0) return 'none pending';
  return actions.join(', then ');
}

export interface AuditLine {
  /** What happened, for people (e.g. "Restart requested: stop, then start"). */
  text: string;
  /** The changed field, when the line is a field change. */
  field?: string;
  old?: string;
  new?: string;
}

/**
 * What one record did, in words: a guest command is an action, not a change of the object; state change requests
 * (start/stop/restart) are named; other fields are old → new.
 */
export function auditLines(r: AuditRecord): AuditLine[] {
  const changes = r.spec.changes ?? [];
  if (r.spec.verb === 'guest-exec') {
    const command = changes.find((c) => c.field === 'command')?.new;
    const words = Array.isArray(command) ? command.map(String).join(' ') : showValue(command);
    return [{ text: `Ran in the guest: ${words}` }];
  }
  return changes.map((c) => {
    if (/(^|\.)stateChangeRequests$/.test(c.field)) {
      const requested = stateChangeWords(c.new);
      if (requested !== undefined)
        return {
          text:
            requested === 'none pending'
              ? 'State change requests carried out'
              : `Requested: ${requested}`,
        };
    }
    return { text: '', field: c.field, old: showValue(c.old), new: showValue(c.new) };
  });
}

/** A short human reading of one change value (MACs and numbers as they are, objects as compact JSON). */
export function showValue(v: unknown): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
