// What runs one `harrow` command (its arguments and flags are declared in commands.ts), and defaults commands share.
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

/** Resolves to the process exit code. */
export type CommandRun = (ctx: CommandContext, args: ParsedCommandLine) => Promise<number>;

export const DEFAULT_TIMEOUT = '120s';
