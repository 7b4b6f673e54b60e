// Labelled form fields whose errors and hints are tied to the input for assistive technology.
import { useId, type ChangeEvent, type ReactNode } from 'react';

export interface FieldProps {
  label: string;
  value: string;
  onChange(value: string): void;
  onBlur?(): void;
  error?: string | undefined;
  /** A non-error note under the field (e.g. "Available" after a dry run). */
  note?: ReactNode;
  hint?: string;
  type?: 'text' | 'number' | 'password' | 'datetime-local' | 'search';
  placeholder?: string;
  required?: boolean;
  disabled?: boolean;
  mono?: boolean;
  autoFocus?: boolean;
  name?: string;
  min?: number;
  max?: number;
}

export function TextField(p: FieldProps): ReactNode {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const noteId = `${id}-note`;
  const describedBy = [p.hint ? hintId : '', p.error ? errorId : '', p.note ? noteId : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={`field${p.error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        type={p.type ?? 'text'}
        value={p.value}
        placeholder={p.placeholder}
        required={p.required}
        disabled={p.disabled}
        autoFocus={p.autoFocus}
        min={p.min}
        max={p.max}
        spellCheck={false}
        autoComplete="off"
        className={p.mono ? 'mono' : undefined}
        aria-invalid={p.error ? true : undefined}
        aria-describedby={describedBy || undefined}
        onChange={(e: ChangeEvent<HTMLInputElement>) => p.onChange(e.target.value)}
        onBlur={p.onBlur}
      />
      {p.hint ? (
        <p id={hintId} className="hint">
          {p.hint}
        </p>
      ) : null}
      {p.error ? (
        <p id={errorId} className="field-error" role="alert">
          {p.error}
        </p>
      ) : null}
      {p.note && !p.error ? (
        <p id={noteId} className="field-note" aria-live="polite">
          {p.note}
        </p>
      ) : null}
    </div>
  );
}

export function SelectField(p: {
  label: string;
  value: string;
  onChange(value: string): void;
  options: Array<{ value: string; label: string }>;
  error?: string | undefined;
  hint?: string;
}): ReactNode {
  const id = useId();
  return (
    <div className={`field${p.error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{p.label}</label>
      <select
        id={id}
        value={p.value}
        onChange={(e) => p.onChange(e.target.value)}
        aria-invalid={p.error ? true : undefined}
        aria-describedby={p.error ? `${id}-error` : p.hint ? `${id}-hint` : undefined}
      >
        {p.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {p.hint ? (
        <p id={`${id}-hint`} className="hint">
          {p.hint}
        </p>
      ) : null}
      {p.error ? (
        <p id={`${id}-error`} className="field-error" role="alert">
          {p.error}
        </p>
      ) : null}
    </div>
  );
}
