// kubectl's --dry-run=none|client|server: none writes, server asks the server to run every check and store nothing
// (?dryRun=All), client sends nothing. A bare --dry-run is Harrow's older spelling of server.
import { UsageError } from './errors.ts';

export type DryRun = 'none' | 'client' | 'server';

const STRATEGIES: readonly DryRun[] = ['none', 'client', 'server'];

/** The strategy a command line asked for; `command` names it in a usage error, `allowed` lists what it serves. */
export function dryRunOf(value: unknown, command: string, allowed = STRATEGIES): DryRun {
  if (value === undefined || value === false) return 'none';
  const strategy = value === true ? 'server' : value;
  if (typeof strategy !== 'string' || !STRATEGIES.includes(strategy as DryRun))
    throw new UsageError(
      `${command}: invalid --dry-run value ${JSON.stringify(strategy)}: must be "none", "server", or "client" (write it --dry-run=server)`,
      command,
    );
  if (!allowed.includes(strategy as DryRun))
    throw new UsageError(
      `${command}: --dry-run=${strategy} is not supported: use ${allowed
        .filter((s) => s !== 'none')
        .map((s) => `--dry-run=${s}`)
        .join(' or ')}`,
      command,
    );
  return strategy as DryRun;
}

/** What kubectl appends to `… created`: ` (server dry run)`, ` (dry run)` for client, nothing for none. */
export const dryRunSuffix = (strategy: DryRun): string =>
  strategy === 'server' ? ' (server dry run)' : strategy === 'client' ? ' (dry run)' : '';
