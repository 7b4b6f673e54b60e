// One confirmation before an action that stops, restarts or deletes: a modal <dialog> naming what will happen to what.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';

export interface ConfirmRequest {
  title: string;
  body: ReactNode;
  /** The confirm button's text, naming the action and its object ("Restart 10 virtual machines"). */
  confirmLabel: string;
  danger?: boolean;
  onConfirm(): void;
}

function ConfirmDialog(props: { request: ConfirmRequest; onClose(): void }): ReactNode {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  const { request, onClose } = props;
  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-body"
      onCancel={onClose}
      onClose={onClose}
    >
      <h2 id="confirm-title">{request.title}</h2>
      <div id="confirm-body">{request.body}</div>
      <div className="confirm-actions">
        {/* The safe choice has the focus, so Enter by habit does not stop anything. */}
        <button type="button" className="btn" onClick={onClose} autoFocus>
          Cancel
        </button>
        <button
          type="button"
          className={`btn ${request.danger ? 'btn-danger' : 'btn-primary'}`}
          onClick={() => {
            onClose();
            request.onConfirm();
          }}
        >
          {request.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A page's confirmation: `confirm(request)` opens the dialog; render `dialog` somewhere in the page. */
export function useConfirm(): { dialog: ReactNode; confirm(request: ConfirmRequest): void } {
  const [request, setRequest] = useState<ConfirmRequest>();
  const close = useCallback(() => setRequest(undefined), []);
  return {
    dialog: request ? <ConfirmDialog request={request} onClose={close} /> : null,
    confirm: setRequest,
  };
}
