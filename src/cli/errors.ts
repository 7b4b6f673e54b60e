// How failures read on stderr (`error: …`, one line per offending field) and which exit code each kind of failure gives.
import { ApiError, TransportError } from '../client/errors.ts';
import { KubeconfigError } from '../client/kubeconfig.ts';

/** Wrong use of the command line: exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to show under the message. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the CLI itself detected (timeout, failed check): exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * The stderr text for an error. An API error with causes prints `error: FIELD: MESSAGE` per cause — the field path is
 * what the user has to fix; otherwise the Status message.
 */
export function formatError(e: unknown): string {
  if (e instanceof ApiError) {
    const causes = e.causes.filter((c) => c.message !== '' || c.field !== '');
    if (causes.length > 0) {
      return causes.map((c) => `error: ${c.field ? `${c.field}: ` : ''}${c.message}\n`).join('');
    }
    const hint =
      e.code === 401 ? ' (the token was not accepted: check --token or the kubeconfig)' : '';
    return `error: ${e.message}${hint}\n`;
  }
  if (
    e instanceof TransportError ||
    e instanceof KubeconfigError ||
    e instanceof CliError ||
    e instanceof UsageError
  ) {
    return `error: ${e.message}\n`;
  }
  if (e instanceof Error) return `error: ${e.message}\n`;
  return `error: ${String(e)}\n`;
}

export function exitCodeOf(e: unknown): number {
  return e instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}
