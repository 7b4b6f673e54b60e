// Small status words: VM state, drift, condition outcome.
import type { ReactNode } from 'react';

const STATE_TONE: Record<string, string> = {
  Running: 'ok',
  Stopped: 'muted',
  Starting: 'busy',
  Stopping: 'busy',
  Migrating: 'busy',
  Provisioning: 'busy',
  Terminating: 'busy',
  Paused: 'muted',
  Failed: 'bad',
  CrashLoopBackOff: 'bad',
  ErrorUnschedulable: 'bad',
};

export function StateBadge(props: { state: string }): ReactNode {
  return <span className={`badge badge-${STATE_TONE[props.state] ?? 'muted'}`}>{props.state}</span>;
}

/** Shown next to a NIC whose guest uses a MAC other than the platform's. */
export function DriftBadge(props: { nic: string; guestMac: string | undefined }): ReactNode {
  const text = props.guestMac ? `guest uses ${props.guestMac}` : 'guest MAC differs';
  return (
    <span
      className="badge badge-bad drift-badge"
      role="status"
      aria-label={`MAC drift on ${props.nic}: ${text}`}
      title={`The guest changed this NIC's MAC: ${text}`}
    >
      ⚠ MAC drift
    </span>
  );
}

export function PendingBadge(props: { mac: string }): ReactNode {
  return (
    <span
      className="badge badge-busy"
      title={`The manifest asks for ${props.mac}; it applies on the next restart`}
    >
      {props.mac} on restart
    </span>
  );
}
