// The shell's word on the link to the server: a status in the top bar, and while the server is out of reach a notice
// above the page saying that what it shows dates from the last contact, when the next try is, and a way to try now.
import { useEffect, useState, type ReactNode } from 'react';
import { useConnection, type ConnectionMonitor, type ConnectionPhase } from '../api/connection.ts';

const LABEL: Record<ConnectionPhase, string> = {
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnected: 'Disconnected',
};

const clock = (ms: number | undefined): string =>
  ms === undefined ? 'never' : new Date(ms).toLocaleTimeString();

/** Re-renders every second while `on`, for "retrying in N s". */
function useTicking(on: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!on) return undefined;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [on]);
  return now;
}

export function ConnectionIndicator(props: { monitor: ConnectionMonitor }): ReactNode {
  const c = useConnection(props.monitor);
  return (
    <div
      className={`conn conn-${c.phase}`}
      role="status"
      data-testid="connection-state"
      data-phase={c.phase}
      title={`Last answer from the server: ${clock(c.lastContact)}`}
    >
      <span className="conn-dot" aria-hidden="true" />
      {LABEL[c.phase]}
    </div>
  );
}

export function StaleNotice(props: { monitor: ConnectionMonitor }): ReactNode {
  const c = useConnection(props.monitor);
  const down = c.phase !== 'connected';
  const now = useTicking(down);
  if (!down) return null;
  const wait =
    c.nextRetry === undefined ? undefined : Math.max(0, Math.ceil((c.nextRetry - now) / 1000));
  return (
    <section
      className={`banner ${c.phase === 'disconnected' ? 'banner-error' : 'banner-warning'} stale-notice`}
      aria-labelledby="stale-title"
      data-testid="stale-notice"
      data-last-contact={c.lastContact}
    >
      <div className="banner-body">
        <h2 className="banner-title" id="stale-title">
          {c.phase === 'disconnected'
            ? 'Disconnected from the server'
            : 'Connection to the server lost, reconnecting'}
        </h2>
        <div className="banner-text">
          What this page shows may be out of date: it is as of the last answer from the server, at{' '}
          {clock(c.lastContact)}. Changes cannot be sent until it is back.{' '}
          {wait === undefined || wait === 0 ? 'Trying again now.' : `Next try in ${wait} s.`}
        </div>
      </div>
      <div className="banner-actions">
        <button type="button" className="btn" onClick={() => props.monitor.retryNow()}>
          Retry now
        </button>
      </div>
    </section>
  );
}
