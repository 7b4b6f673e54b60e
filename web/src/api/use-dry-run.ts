// Asks the server, with ?dryRun=All, whether a write would be accepted — debounced, and only for the latest candidate.
import { useEffect, useRef, useState } from 'react';
import { ApiError } from './client.ts';

export type DryRunState<T = unknown> =
  | { status: 'idle' }
  | { status: 'checking'; key: string }
  /** Accepted; `value` is what `run` resolved with (e.g. the server's warnings). */
  | { status: 'ok'; key: string; value: T }
  | { status: 'error'; key: string; error: ApiError };

/**
 * `key` identifies the candidate (null: nothing to check). When it changes, `run` is called after `delayMs`;
 * results for an older key are dropped, so the state always speaks about what is on screen.
 */
export function useDryRun<T>(
  key: string | null,
  run: () => Promise<T>,
  delayMs = 300,
): DryRunState<T> {
  const [state, setState] = useState<DryRunState<T>>({ status: 'idle' });
  const runRef = useRef(run);
  runRef.current = run;
  useEffect(() => {
    if (key === null) {
      setState({ status: 'idle' });
      return undefined;
    }
    let current = true;
    setState({ status: 'checking', key });
    const t = setTimeout(() => {
      runRef.current().then(
        (value) => {
          if (current) setState({ status: 'ok', key, value });
        },
        (e: unknown) => {
          if (!current) return;
          const error = e instanceof ApiError ? e : new ApiError(0, 'NetworkError', String(e));
          setState({ status: 'error', key, error });
        },
      );
    }, delayMs);
    return () => {
      current = false;
      clearTimeout(t);
    };
  }, [key, delayMs]);
  if (key === null) return { status: 'idle' };
  return state.status !== 'idle' && state.key === key ? state : { status: 'checking', key };
}
