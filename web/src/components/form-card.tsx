// A form in a card: its title, its fields, and the actions under them (submit, any others, Cancel), labelled for
// assistive technology by its title.
import type { FormEvent, ReactNode } from 'react';

export function FormCard(props: {
  id: string;
  title: string;
  submitLabel: string;
  busyLabel: string;
  busy: boolean;
  onSubmit(): void;
  onCancel(): void;
  /** Buttons between submit and Cancel (e.g. "Remove window"). */
  actions?: ReactNode;
  children: ReactNode;
}): ReactNode {
  return (
    <form
      id={props.id}
      className="card"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        props.onSubmit();
      }}
      noValidate
      aria-labelledby={`${props.id}-title`}
    >
      <h2 id={`${props.id}-title`} className="card-title">
        {props.title}
      </h2>
      {props.children}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={props.busy}>
          {props.busy ? props.busyLabel : props.submitLabel}
        </button>
        {props.actions}
        <button
          type="button"
          className="btn btn-ghost"
          disabled={props.busy}
          onClick={props.onCancel}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The one row of a table with nothing to list (shown only when the list is known, current and empty). */
export function EmptyRow(props: { columns: number; children: ReactNode }): ReactNode {
  return (
    <tr>
      <td colSpan={props.columns} className="empty">
        {props.children}
      </td>
    </tr>
  );
}

/** The header cell over a table's row buttons, named for screen readers only; none when the rows have no buttons. */
export function ActionsHeader(props: { show: boolean | undefined }): ReactNode {
  return props.show ? (
    <th scope="col">
      <span className="sr-only">Actions</span>
    </th>
  ) : null;
}
