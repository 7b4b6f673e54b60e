// The `harrow` command line: commander parses it against the declarations in commands.ts (and prints their help),
// the chosen command's module is loaded and run, and failures become `error:` lines and an exit code.
import { CommanderError } from 'commander';
import { globalFlags, type GlobalOptionValues, type ParsedCommandLine } from './args.ts';
import type { CommandRun } from './command.ts';
import { declareProgram } from './commands.ts';
import type { CliIO } from './context.ts';
import { EXIT_OK, UsageError, exitCodeOf, formatError } from './errors.ts';
import { HarrowCommand } from './harrow-command.ts';

/** Help wraps at the terminal's width, else at this many columns. */
const HELP_WIDTH = 100;

/** Runs one command line; resolves to the exit code. Never throws. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  // What follows the first `--` is exec's guest command, kept verbatim; commander would drop the `--` itself.
  const dd = argv.indexOf('--');
  const words = dd >= 0 ? argv.slice(0, dd) : argv;
  const rest = dd >= 0 ? argv.slice(dd + 1) : [];
  let code = EXIT_OK;
  /** The command whose action runs: its help is the one a usage error points to. */
  let running: string | undefined;

  const program = new HarrowCommand('harrow')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      // Errors are printed below, one line each.
      outputError: () => undefined,
      getOutHelpWidth: () => io.stdout.columns ?? HELP_WIDTH,
      getErrHelpWidth: () => io.stderr.columns ?? HELP_WIDTH,
    })
    .configureHelp({ showGlobalOptions: true })
    .helpOption('-h, --help', 'print this help');

  const runs =
    (load: () => Promise<CommandRun>) =>
    async (...actionArgs: unknown[]): Promise<void> => {
      const cmd = actionArgs.at(-1) as HarrowCommand;
      running = cmd.path();
      if (dd >= 0 && running !== 'exec')
        throw new UsageError(`${running}: unexpected -- (only exec runs a command)`, running);
      const globals = globalFlags(program.opts<GlobalOptionValues>(), running);
      const values: ParsedCommandLine['values'] = {};
      for (const o of cmd.options) {
        const v: unknown = cmd.getOptionValue(o.attributeName());
        // `--no-local-node` is commander's negation of local-node: true when given, as the other booleans.
        values[o.long!.slice(2)] = o.negate ? (v === false ? true : undefined) : (v as string);
      }
      // A subcommand's word leads its positionals (`token create` → ['create']), as its module dispatches on it.
      const positionals = cmd.parent === program ? cmd.args : [cmd.name(), ...cmd.args];
      const [execute, { createContext }] = await Promise.all([load(), import('./context.ts')]);
      code = await execute(createContext(io, globals), {
        globals,
        values,
        positionals,
        rest,
        dashDash: dd >= 0,
      });
    };

  const help = (path: string[]): void => {
    let target: HarrowCommand = program;
    for (const word of path) {
      const next = target.commands.find((c) => c.name() === word || c.aliases().includes(word));
      if (!next)
        throw new UsageError(
          `unknown ${target === program ? 'command' : `${target.path()} subcommand`} ${JSON.stringify(word)}`,
          target.path(),
        );
      target = next as HarrowCommand;
    }
    target.outputHelp();
  };

  // No command: the overview.
  declareProgram(program, runs, help).action(() => program.outputHelp());

  try {
    await program.parseAsync(words, { from: 'user' });
    return code;
  } catch (thrown) {
    let e = thrown;
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT_OK;
      // Anything commander reports itself (its message starts with `error: `) is a usage error too.
      e = new UsageError(e.message.replace(/^error: /, ''));
    }
    io.stderr.write(formatError(e));
    // One line that says what is wrong, and where the help is (not the whole help, which buried that line).
    if (e instanceof UsageError) {
      const about = running ?? e.command ?? '';
      io.stderr.write(`see 'harrow ${about === '' ? '' : `${about} `}--help'\n`);
    }
    return exitCodeOf(e);
  }
}
