// Times as an operator reads them: relative age, with the exact instant on hover and for screen readers.
import type { ReactNode } from 'react';

export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export const localTime = (iso: string | undefined): string =>
  iso ? new Date(iso).toLocaleString() : '—';

export function Age(props: { iso: string | undefined }): ReactNode {
  return (
    <time dateTime={props.iso} title={localTime(props.iso)}>
      {age(props.iso)}
    </time>
  );
}
