// The `harrow` command line: finds the command, parses its flags, runs it, and turns failures into `error:` and an exit code.
import { agentCommand } from './agent.ts';
import { findCommand, parseCommandLine } from './args.ts';
import { auditCommand } from './audit.ts';
import type { Command } from './command.ts';
import { createContext, type CliIO } from './context.ts';
import { consoleCommand } from './console.ts';
import { EXIT_OK, EXIT_USAGE, UsageError, exitCodeOf, formatError } from './errors.ts';
import { createCommand, deleteCommand } from './create.ts';
import { describeCommand } from './describe.ts';
import { downCommand } from './down.ts';
import { cloneCommand } from './clone.ts';
import { driftCommand } from './drift.ts';
import { execCommand } from './exec.ts';
import { exportCommand } from './export.ts';
import { fsckCommand } from './fsck.ts';
import { getCommand } from './get.ts';
import { imageCommand } from './image.ts';
import { logsCommand } from './logs.ts';
import { restartCommand, startCommand, stopCommand } from './power.ts';
import { serveCommand } from './serve.ts';
import { setMacCommand } from './set-mac.ts';
import { windowCommand } from './window.ts';
import { tokenCommand } from './token.ts';

export const COMMANDS: readonly Command[] = [
  serveCommand,
  agentCommand,
  downCommand,
  getCommand,
  describeCommand,
  createCommand,
  deleteCommand,
  setMacCommand,
  startCommand,
  stopCommand,
  restartCommand,
  windowCommand,
  driftCommand,
  cloneCommand,
  execCommand,
  consoleCommand,
  logsCommand,
  imageCommand,
  fsckCommand,
  exportCommand,
  auditCommand,
  tokenCommand,
];

export const GLOBAL_HELP = `Global flags:
      --server URL         API server (default: from the kubeconfig)
      --token TOKEN        bearer token (default: from the kubeconfig)
      --kubeconfig PATH    default: $HARROW_KUBECONFIG, ./.harrow/kubeconfig, ~/.harrow/kubeconfig
  -n, --namespace NS       namespace (default: the kubeconfig context's, else default)
  -o, --output FORMAT      table (default), json or yaml
  -h, --help               help for a command`;

export function overview(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 3;
  return `harrow — VM network identity (MAC addresses) the Harvester/KubeVirt way

Usage: harrow COMMAND [ARGS] [FLAGS]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`).join('\n')}

${GLOBAL_HELP}

Exit codes: 0 ok, 1 failure (API error, timeout, failed check), 2 usage; exec exits with the guest's code.
Run \`harrow COMMAND --help\` for a command's flags.
`;
}

export const commandNamed = (word: string): Command | undefined =>
  COMMANDS.find((c) => c.name === word || (c.aliases ?? []).includes(word));

const helpOf = (c: Command): string => `${c.usage}\n\n${GLOBAL_HELP}\n`;

/** `see 'harrow get --help'`: the help of the command the error is about, else the overview's. */
export function usageHint(e: UsageError, running?: Command): string {
  const c = (e.command !== undefined ? commandNamed(e.command) : undefined) ?? running;
  return c ? `see 'harrow ${c.name} --help'` : `see 'harrow --help'`;
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  let command: Command | undefined;
  try {
    const { command: word } = findCommand(
      argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv,
    );
    if (word === undefined || word === 'help') {
      const target = word === 'help' ? argv[argv.indexOf('help') + 1] : undefined;
      const c = target !== undefined ? commandNamed(target) : undefined;
      if (target !== undefined && !c)
        throw new UsageError(`unknown command ${JSON.stringify(target)}`);
      io.stdout.write(c ? helpOf(c) : overview());
      return EXIT_OK;
    }
    command = commandNamed(word);
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(word)}`);
    const args = parseCommandLine(argv, command.options ?? {}, command.name);
    if (args.globals.help) {
      io.stdout.write(helpOf(command));
      return EXIT_OK;
    }
    if (args.dashDash && command.name !== 'exec') {
      throw new UsageError(
        `${command.name}: unexpected -- (only exec runs a command)`,
        command.name,
      );
    }
    return await command.run(createContext(io, args.globals), args);
  } catch (e) {
    io.stderr.write(formatError(e));
    // One line that says what is wrong, and where the help is (not the whole help, which buried that line).
    if (e instanceof UsageError) io.stderr.write(`${usageHint(e, command)}\n`);
    return e instanceof UsageError ? EXIT_USAGE : exitCodeOf(e);
  }
}
