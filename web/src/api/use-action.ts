// One write the user asked for, as a form or a dialog runs it: busy while it runs, and the server's refusal kept
// (as an ApiError with its causes) until the next try or until the user changes what they typed.
import { useCallback, useState } from 'react';
import { asApiError, type ApiError } from './client.ts';

export interface ApiAction {
  busy: boolean;
  error: ApiError | undefined;
  clearError(): void;
  /** Runs `action`; a failure becomes `error`. */
  run(action: () => Promise<void>): Promise<void>;
}

export function useApiAction(): ApiAction {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const clearError = useCallback(() => setError(undefined), []);
  const run = useCallback(async (action: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, clearError, run };
}
