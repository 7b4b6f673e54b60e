// Commander's Command with Harrow's usage errors: one line naming the command and what is wrong (`get: missing TYPE`),
// thrown as a UsageError (exit code 2) for program.ts to print with where the help is — never the whole help.
import { Command, type Option } from 'commander';
import { UsageError } from './errors.ts';

export class HarrowCommand extends Command {
  override createCommand(name?: string): HarrowCommand {
    return new HarrowCommand(name);
  }

  /** The words after `harrow` that name this command: `token create`; '' for the program itself. */
  path(): string {
    return this.parent instanceof HarrowCommand
      ? [this.parent.path(), this.name()].filter((w) => w !== '').join(' ')
      : '';
  }

  /** A group of subcommands (`token create|list|revoke`): on its own it says which subcommands there are. */
  subcommandRequired(): this {
    return this.action(() => this.fail(`missing subcommand (${this.subcommandNames()})`));
  }

  private subcommandNames(): string {
    return this.commands.map((c) => c.name()).join(', ');
  }

  private fail(message: string): never {
    throw new UsageError(this.parent ? `${this.path()}: ${message}` : message, this.path());
  }

  // The methods below replace commander's own reports of the same errors: its parser calls them by these names (they
  // are not in its typings; commander's major version is pinned, and test/unit/cli-program.test.ts checks each one).

  /** Every required argument that is missing, not only the first. */
  missingArgument(): never {
    const missing = this.registeredArguments
      .filter((a, i) => a.required && this.args[i] === undefined)
      .map((a) => a.name());
    this.fail(`missing ${missing.join(' ')}`);
  }

  optionMissingArgument(option: Option): never {
    this.fail(`${option.long ?? option.short} needs a value`);
  }

  unknownOption(flag: string): never {
    this.fail(`unknown flag ${flag}`);
  }

  /** A word past the declared arguments: an unknown command or subcommand where those are, else an extra argument. */
  _excessArguments(received: string[]): never {
    const extra = JSON.stringify(received[this.registeredArguments.length]);
    if (!this.parent) this.fail(`unknown command ${extra}`);
    if (this.commands.length > 0)
      this.fail(`unknown subcommand ${extra} (${this.subcommandNames()})`);
    this.fail(`unexpected argument ${extra}`);
  }
}
