// `harrow exec VM -- CMD…`: runs a command in the guest through its agent and exits with the guest's exit code.
import { UsageError } from './errors.ts';
import { parseDuration } from './args.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

export async function runExec(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [name, ...inline] = args.positionals;
  if (name === undefined) throw new UsageError('exec: missing VM', 'exec');
  const argv = [...inline, ...args.rest];
  if (argv.length === 0)
    throw new UsageError('exec: missing the command to run (after --)', 'exec');
  const timeout = args.values.timeout as string | undefined;
  const result = await ctx
    .client()
    .guestExec(
      ctx.namespace(),
      name,
      argv,
      timeout !== undefined
        ? { timeoutSeconds: Math.ceil(parseDuration(timeout, '--timeout') / 1000) }
        : {},
    );
  if (result.stdout !== '') ctx.io.stdout.write(result.stdout);
  if (result.stderr !== '') ctx.io.stderr.write(result.stderr);
  return result.exitCode;
}
