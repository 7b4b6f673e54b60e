// The audit records table: who did what to which object, each changed field old → new, the outcome and the check.
import type { ReactNode } from 'react';
import type { AuditRecord } from '../../../src/resources/types.ts';
import { auditLines } from '../model/audit.ts';
import { localTime } from './time.tsx';

export function AuditTable(props: {
  records: AuditRecord[];
  caption: string;
  showResource?: boolean;
  /** False while the records are not (or no longer) known: then an empty table does not say "none match". Default true. */
  current?: boolean;
}): ReactNode {
  const showResource = props.showResource ?? true;
  return (
    <table className="table audit-table">
      <caption className="sr-only">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">User</th>
          <th scope="col">Action</th>
          {showResource ? <th scope="col">Object</th> : null}
          <th scope="col">Changes</th>
          <th scope="col">Outcome</th>
        </tr>
      </thead>
      <tbody>
        {props.records.map((r) => (
          <tr key={r.metadata.name} data-audit={r.metadata.name}>
            <td className="nowrap">
              <time dateTime={r.spec.timestamp}>{localTime(r.spec.timestamp)}</time>
            </td>
            <td>{r.spec.user}</td>
            <td>
              <code>{r.spec.verb}</code>
            </td>
            {showResource ? (
              <td>
                {r.spec.resource.kind}{' '}
                {r.spec.resource.namespace ? `${r.spec.resource.namespace}/` : ''}
                {r.spec.resource.name}
              </td>
            ) : null}
            <td>
              <AuditChanges record={r} />
              {r.spec.connectivity ? (
                <p className={r.spec.connectivity.ok ? 'ok-text' : 'bad-text'}>
                  Connectivity {r.spec.connectivity.ok ? 'passed' : 'failed'} (
                  {r.spec.connectivity.interface} {r.spec.connectivity.macAddress}):{' '}
                  {r.spec.connectivity.message}
                </p>
              ) : null}
            </td>
            <td>
              <span
                className={`badge ${r.spec.outcome.status === 'Success' ? 'badge-ok' : 'badge-bad'}`}
              >
                {r.spec.outcome.code} {r.spec.outcome.status}
              </span>
              {r.spec.outcome.message ? (
                <div className="small muted">{r.spec.outcome.message}</div>
              ) : null}
            </td>
          </tr>
        ))}
        {props.records.length === 0 && (props.current ?? true) ? (
          <tr>
            <td colSpan={showResource ? 6 : 5} className="empty">
              No audit records match.
            </td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}

/** What the record did: field changes old → new, actions (a guest command, a restart request) in words. */
function AuditChanges(props: { record: AuditRecord }): ReactNode {
  const lines = auditLines(props.record);
  if (lines.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="changes">
      {lines.map((l, i) =>
        l.field === undefined ? (
          <li key={i} className="audit-action">
            {l.text}
          </li>
        ) : (
          <li key={i}>
            <code className="field-path">{l.field}</code>: <span className="mono old">{l.old}</span>{' '}
            → <span className="mono new">{l.new}</span>
          </li>
        ),
      )}
    </ul>
  );
}
