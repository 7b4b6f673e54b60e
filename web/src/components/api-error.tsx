// Renders an API error (a Kubernetes Status) with the fields it names.
import type { ReactNode } from 'react';
import type { ApiError } from '../api/client.ts';

export function ApiErrorNotice(props: { error: ApiError | undefined; what?: string }): ReactNode {
  if (!props.error) return null;
  const e = props.error;
  return (
    <div className="api-error" role="alert">
      <strong>
        {props.what ? `${props.what}: ` : ''}
        {e.reason !== 'Unknown' ? `${e.reason} — ` : ''}
      </strong>
      {e.message}
      {e.causes.length > 0 ? (
        <ul>
          {e.causes.map((c, i) => (
            <li key={i}>
              {c.field ? <code>{c.field}</code> : null} {c.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
