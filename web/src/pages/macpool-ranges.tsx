// Editing a MacPool's ranges: add, remove or change a range, saved with one patch; the admission's answer is shown at
// the field it names and the pool stays as it was.
import { useState, type FormEvent, type ReactNode } from 'react';
import type { MacPool } from '../../../src/resources/types.ts';
import { ApiError } from '../api/client.ts';
import { TextField } from '../components/field.tsx';
import {
  placeRangeErrors,
  rangesOf,
  type PlacedRangeErrors,
  type RangeRow,
} from '../model/pool.ts';
import { useSession } from '../session.ts';

export const macPoolPath = (name: string): string =>
  `/apis/harrow.io/v1/macpools/${encodeURIComponent(name)}`;

export function RangesEditor(props: {
  pool: MacPool;
  onDone(saved: MacPool | undefined): void;
}): ReactNode {
  const { api } = useSession();
  const name = props.pool.metadata.name;
  const [rows, setRows] = useState<RangeRow[]>(() =>
    props.pool.spec.ranges.map((r) => ({ start: r.start, end: r.end })),
  );
  const [errors, setErrors] = useState<PlacedRangeErrors>();
  const [saving, setSaving] = useState(false);

  const edit = (i: number, patch: Partial<RangeRow>): void => {
    setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
    setErrors(undefined);
  };

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setSaving(true);
    setErrors(undefined);
    try {
      // The resourceVersion makes this a precondition: a pool someone else changed meanwhile is not overwritten.
      const saved = await api.patch<MacPool>(
        macPoolPath(name),
        {
          metadata: { resourceVersion: props.pool.metadata.resourceVersion },
          spec: { ranges: rangesOf(rows) },
        },
        'merge',
      );
      props.onDone(saved);
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(0, 'NetworkError', String(err));
      const placed = placeRangeErrors(error, rows.length);
      if (error.code === 409)
        placed.general = `${error.message} Someone changed this pool while you edited it; cancel and edit again.`;
      setErrors(placed);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form
      className="ranges-editor"
      onSubmit={(e) => void save(e)}
      aria-label={`Ranges of ${name}`}
      noValidate
    >
      {rows.map((r, i) => {
        const label = `Range ${i + 1}`;
        const rangeError = errors?.range.get(i);
        return (
          <fieldset
            key={i}
            className={`range-row${rangeError ? ' range-row-invalid' : ''}`}
            aria-describedby={rangeError ? `${name}-range-${i}-error` : undefined}
          >
            <legend>{label}</legend>
            <TextField
              label={`${label} start`}
              value={r.start}
              onChange={(v) => edit(i, { start: v })}
              error={errors?.start.get(i)}
              placeholder="02:48:52:00:00:00"
              mono
            />
            <TextField
              label={`${label} end`}
              value={r.end}
              onChange={(v) => edit(i, { end: v })}
              error={errors?.end.get(i)}
              placeholder="02:48:52:ff:ff:ff"
              mono
            />
            <button
              type="button"
              className="btn btn-small"
              aria-label={`Remove range ${i + 1}`}
              disabled={saving}
              onClick={() => {
                setRows((rs) => rs.filter((_, j) => j !== i));
                setErrors(undefined);
              }}
            >
              Remove
            </button>
            {rangeError ? (
              <p id={`${name}-range-${i}-error`} className="field-error range-error" role="alert">
                {rangeError}
              </p>
            ) : null}
          </fieldset>
        );
      })}
      {errors?.general ? (
        <div className="api-error" role="alert">
          <strong>Not saved: </strong>
          {errors.general}
        </div>
      ) : null}
      <div className="form-actions">
        <button
          type="button"
          className="btn"
          disabled={saving}
          onClick={() => {
            setRows((rs) => [...rs, { start: '', end: '' }]);
            setErrors(undefined);
          }}
        >
          Add range
        </button>
        <button type="submit" className="btn btn-primary" disabled={saving}>
          {saving ? 'Saving…' : 'Save ranges'}
        </button>
        <button
          type="button"
          className="btn btn-ghost"
          disabled={saving}
          onClick={() => props.onDone(undefined)}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
