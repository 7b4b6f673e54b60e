// One line per audit record's change and outcome: what the Table of AuditRecords shows (kubectl, harrow get audit).
import type { AuditRecord } from '../resources/types.ts';

const DEVICE_PREFIX = 'spec.template.spec.domain.devices.';

const shorten = (text: string, max: number): string => {
  const cps = [...text];
  return cps.length <= max ? text : cps.slice(0, Math.max(0, max - 1)).join('') + '…';
};

/** `interfaces[0].macAddress: 02:…:01→02:…:02`, fields shortened below the template's devices; '' when none. */
export function changeSummary(changes: AuditRecord['spec']['changes']): string {
  if (!changes || changes.length === 0) return '';
  const show = (v: unknown): string =>
    v === undefined ? '∅' : typeof v === 'string' ? v : JSON.stringify(v);
  return changes
    .map((c) => {
      const field = c.field.startsWith(DEVICE_PREFIX)
        ? c.field.slice(DEVICE_PREFIX.length)
        : c.field;
      return `${field}: ${shorten(show(c.old), 40)}→${shorten(show(c.new), 40)}`;
    })
    .join('; ');
}

/** `Success`, `Failure 409: MAC in use`, and the connectivity check's verdict when the record has one. */
export function outcomeSummary(spec: AuditRecord['spec']): string {
  const o = spec.outcome;
  let s = o
    ? o.status === 'Success'
      ? 'Success'
      : `Failure ${o.code}${o.message ? `: ${o.message}` : ''}`
    : '';
  const c = spec.connectivity;
  if (c) s += `; connectivity ${c.ok ? 'ok' : 'FAILED'}${c.ok ? '' : `: ${c.message}`}`;
  return s;
}
