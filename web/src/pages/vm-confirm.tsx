// What the confirmation says before a VM is stopped, restarted or deleted, for one VM or a selection.
import type { ReactNode } from 'react';
import type { ConfirmRequest } from '../components/confirm.tsx';
import { countOf, VERB, type VmOp } from './vm-data.ts';

export const stopRequest = (name: string, onConfirm: () => void): ConfirmRequest => ({
  title: `Stop ${name}?`,
  body: <p>The guest is shut down and stays off until it is started again.</p>,
  confirmLabel: `Stop ${name}`,
  danger: true,
  onConfirm,
});

export const restartRequest = (name: string, onConfirm: () => void): ConfirmRequest => ({
  title: `Restart ${name}?`,
  body: <p>The guest is shut down and started again; its connections drop meanwhile.</p>,
  confirmLabel: `Restart ${name}`,
  onConfirm,
});

export const deleteRequest = (
  name: string,
  namespace: string,
  onConfirm: () => void,
): ConfirmRequest => ({
  title: `Delete ${name}?`,
  body: (
    <p>
      The virtual machine {name} is removed from {namespace} and its guest stops. Its MAC addresses
      go back to the pool after the quarantine. This cannot be undone.
    </p>
  ),
  confirmLabel: `Delete ${name}`,
  danger: true,
  onConfirm,
});

const CONSEQUENCE: Record<VmOp, string> = {
  start: 'Each one is started.',
  stop: 'Each guest is shut down and stays off until started again.',
  restart: 'Each guest is shut down and started again; its connections drop meanwhile.',
  delete: 'Each one is removed and its guest stops. This cannot be undone.',
};

/** One confirmation for an action on every selected VM, naming how many and which. */
export function bulkRequest(
  op: VmOp,
  names: readonly string[],
  onConfirm: () => void,
): ConfirmRequest {
  const shown = names.slice(0, 8);
  const body: ReactNode = (
    <>
      <p>{CONSEQUENCE[op]}</p>
      <ul className="confirm-names" data-testid="confirm-names">
        {shown.map((n) => (
          <li key={n} className="mono" title={n}>
            {n}
          </li>
        ))}
        {names.length > shown.length ? (
          <li className="muted">and {(names.length - shown.length).toLocaleString('en')} more</li>
        ) : null}
      </ul>
    </>
  );
  return {
    title: `${VERB[op]} ${countOf(names.length)}?`,
    body,
    confirmLabel: `${VERB[op]} ${countOf(names.length)}`,
    danger: op === 'stop' || op === 'delete',
    onConfirm,
  };
}
