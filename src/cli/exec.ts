// `harrow exec VM -- CMD…`: runs a command in the guest through its agent and exits with the guest's exit code.
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { parseDuration } from './args.ts';

export const execCommand: Command = {
  name: 'exec',
  summary: 'Run a command inside the guest (guest agent guest-exec)',
  usage: `Usage: harrow exec VM [-n NS] [--timeout 60s] -- COMMAND [ARG…]

Runs COMMAND in the VM's guest through the guest agent and prints its stdout and stderr; the exit code is the
guest's. Example (what a user inside the guest might do):
  harrow exec vm-a -- ip link set eth0 address 02:00:00:00:00:99`,
  options: { timeout: { type: 'string' } },
  async run(ctx, args) {
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
  },
};
