// The shape of one `harrow` command: its words, help text, own flags and what it does.
import type { OptionSpec, ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

export interface Command {
  name: string;
  aliases?: string[];
  /** One line for the command overview. */
  summary: string;
  /** The full `--help` text (usage line first). */
  usage: string;
  options?: OptionSpec;
  /** Resolves to the process exit code. */
  run(ctx: CommandContext, args: ParsedCommandLine): Promise<number>;
}

export const TIMEOUT_OPTION = { timeout: { type: 'string' } } as const satisfies OptionSpec;
export const DEFAULT_TIMEOUT = '120s';
