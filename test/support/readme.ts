// The README's command blocks as steps a test runs in order, and the comparison of a command's output with what the
// README shows. Pure: test/e2e/readme.test.ts runs the steps, test/unit/readme.test.ts checks this module.
//
// A ```sh block is a list of commands: each line (a trailing `\` joins the next one) that does not start with
// whitespace or `#`; bash reads the comments itself. A ```console block shows output: `$ COMMAND` lines, each followed
// by the lines the command prints (stdout), compared after the normalisation below.
//
// An HTML comment `<!-- readme-test … -->` right before a block (only blank lines between) says how to run some of its
// commands, one directive a line, each naming a command by a prefix in backticks that must match exactly one command of
// the block (a command equal to it, its comment aside, wins over longer ones), and each ending with its reason after
// ` — `:
//   skip `PREFIX` — why it cannot run here (`skip every command — …`: the whole block, e.g. benchmarks)
//   as `PREFIX` `COMMAND` — run COMMAND instead (a placeholder the README shows, an environment the test needs)
//   before `PREFIX` `COMMAND` — run COMMAND first (a file the README assumes the reader has)
//   (a TEXT below written `/…/` is a regular expression a line of the output must match)
//   background `PREFIX` until `TEXT` — start it, wait until its output contains TEXT, stop it when the test ends
//   retry `PREFIX` until `TEXT` — run it again until it exits 0 with TEXT in its output (a state that follows later)
//   fails `PREFIX` with `TEXT` — it must exit non-zero with TEXT in its output
//   capture `PREFIX` as `NAME` — its stdout (trimmed) becomes the variable NAME for the later commands
//   defer `PREFIX` — run it after every command not deferred (one that stops the server the later sections use);
//     `defer every command — …`: the whole block
//   terminal `PREFIX` with `DIALOGUE` — run it in a pseudo-terminal and type what DIALOGUE says (see terminalDialogue)
//   needs `PREFIX` `root, qemu, etcd` — what the machine must offer; the test skips it, saying which is missing, where
//     the machine lacks one (every other skip is for good, with the reason the directive gives)

import {
  nextWindowStart,
  parseWindowDuration,
  windowContaining,
} from '../../src/maintenance/cron.ts';

export type StepMode = 'run' | 'skip' | 'background' | 'retry' | 'fails' | 'terminal';

/** What a `needs` directive may name: the machine's capabilities the test checks before it runs a step. */
export const CAPABILITIES = ['root', 'qemu', 'etcd'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface Step {
  /** The command as the README shows it. */
  readonly command: string;
  /** What bash runs (the `as` directive's command, else `command`). */
  readonly run: string;
  readonly mode: StepMode;
  /** background/retry: text the output must contain; fails: text the failure's output must contain; terminal: the
   * dialogue. */
  readonly until?: string;
  /** What the machine must offer to run it (the `needs` directive). */
  readonly needs: readonly Capability[];
  readonly before?: string;
  readonly capture?: string;
  /** console blocks: the output the README shows. */
  readonly expected?: string;
  /** The directive's reason, for skip and as. */
  readonly reason?: string;
  /** Run after every step that is not deferred (readmeSteps puts it there). */
  readonly deferred: boolean;
  /** 1-based README line of the command, for messages. */
  readonly line: number;
  /** The section (`## …`) the block is in. */
  readonly section: string;
}

interface Directive {
  verb:
    | 'skip'
    | 'as'
    | 'before'
    | 'background'
    | 'retry'
    | 'fails'
    | 'capture'
    | 'defer'
    | 'terminal'
    | 'needs';
  prefix: string;
  argument?: string;
  reason: string;
  line: number;
  /** `skip|defer every command`: the directive is for each command of the block. */
  every?: boolean;
}

const DIRECTIVE =
  /^(skip|as|before|background|retry|fails|capture|defer|terminal|needs) `([^`]+)`(?: (?:until |with |as )?`([^`]+)`)? — (\S.*)$/;
const MODES: ReadonlyArray<Directive['verb']> = [
  'skip',
  'background',
  'retry',
  'fails',
  'terminal',
];

/** The capabilities a `needs` directive names (`root, qemu`), or an Error naming the unknown one. */
function capabilities(text: string, line: number): Capability[] {
  return text.split(/,\s*/).map((c) => {
    if (!(CAPABILITIES as readonly string[]).includes(c))
      throw new Error(
        `README line ${line}: \`needs\` names ${JSON.stringify(c)}, not one of ${CAPABILITIES.join(', ')}`,
      );
    return c as Capability;
  });
}

function parseDirectives(text: string, firstLine: number): Directive[] {
  const directives: Directive[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const every = /^(skip|defer) every command — (\S.*)$/.exec(line);
    if (every) {
      directives.push({
        verb: every[1] as 'skip' | 'defer',
        prefix: '',
        reason: every[2]!,
        line: firstLine + i,
        every: true,
      });
      return;
    }
    const m = DIRECTIVE.exec(line);
    if (!m) throw new Error(`README line ${firstLine + i}: not a readme-test directive: ${line}`);
    const verb = m[1] as Directive['verb'];
    const needsArgument = verb !== 'skip' && verb !== 'defer';
    if (needsArgument !== (m[3] !== undefined))
      throw new Error(
        `README line ${firstLine + i}: \`${verb}\` ${needsArgument ? 'needs' : 'takes no'} second argument`,
      );
    if (verb === 'needs') capabilities(m[3]!, firstLine + i);
    if (verb === 'terminal') terminalDialogue(m[3]!, firstLine + i);
    directives.push({ verb, prefix: m[2]!, argument: m[3], reason: m[4]!, line: firstLine + i });
  });
  return directives;
}

/** One turn at a terminal: type `keys`, then wait until the screen shows `until` (after what it showed before). */
export interface TerminalExchange {
  readonly keys: string;
  readonly until?: string;
}

/**
 * A `terminal` directive's dialogue, turns separated by ` · `, each `KEYS → TEXT` (type, then wait for TEXT), `KEYS`
 * or `→ TEXT`: `→ connected · ⏎ → login: · root⏎ → # · Ctrl-]`. In KEYS `⏎` is Enter and `Ctrl-X` the control key
 * (`Ctrl-]`: 0x1d). After the last turn the command must exit 0.
 */
export function terminalDialogue(text: string, line = 0): TerminalExchange[] {
  return text.split(' · ').map((turn) => {
    const arrow = turn.indexOf('→');
    const keys = (arrow < 0 ? turn : turn.slice(0, arrow))
      .trim()
      .replaceAll('⏎', '\r')
      .replace(/Ctrl-([@A-Z[\\\]^_])/g, (_, c: string) =>
        String.fromCharCode(c.charCodeAt(0) - 64),
      );
    const until = arrow < 0 ? undefined : turn.slice(arrow + 1).trim();
    if (keys === '' && !until)
      throw new Error(
        `README line ${line}: an empty turn in the terminal dialogue ${JSON.stringify(text)}`,
      );
    return until ? { keys, until } : { keys };
  });
}

interface RawCommand {
  command: string;
  line: number;
  expected?: string;
}

function shCommands(body: string[], firstLine: number): RawCommand[] {
  const commands: RawCommand[] = [];
  let pending: RawCommand | undefined;
  body.forEach((text, i) => {
    if (pending) {
      pending.command += `\n${text}`;
      if (!text.endsWith('\\')) pending = undefined;
      return;
    }
    if (text.trim() === '' || /^\s/.test(text) || text.startsWith('#')) return;
    const command: RawCommand = { command: text, line: firstLine + i };
    commands.push(command);
    if (text.endsWith('\\')) pending = command;
  });
  return commands;
}

function consoleCommands(body: string[], firstLine: number): RawCommand[] {
  const commands: RawCommand[] = [];
  const outputs: string[][] = [];
  body.forEach((text, i) => {
    if (text.startsWith('$ ')) {
      commands.push({ command: text.slice(2), line: firstLine + i });
      outputs.push([]);
    } else if (commands.length === 0) {
      throw new Error(`README line ${firstLine + i}: a console block starts with a \`$ \` command`);
    } else {
      outputs[outputs.length - 1]!.push(text);
    }
  });
  return commands.map((c, i) => ({ ...c, expected: outputs[i]!.join('\n') }));
}

/** The README's command blocks (```sh and ```console) as steps, in order. */
export function readmeSteps(markdown: string): Step[] {
  const lines = markdown.split('\n');
  const steps: Step[] = [];
  let section = '';
  let directives: Directive[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.startsWith('## ')) section = text.slice(3);
    if (text.startsWith('<!-- readme-test')) {
      const start = i;
      const inner: string[] = [text.slice('<!-- readme-test'.length)];
      while (!lines[i]!.includes('-->')) {
        i++;
        if (i >= lines.length)
          throw new Error(`README line ${start + 1}: unclosed readme-test comment`);
        inner.push(lines[i]!);
      }
      inner[inner.length - 1] = inner[inner.length - 1]!.replace(/-->.*$/, '');
      directives = parseDirectives(inner.join('\n'), start + 1);
      continue;
    }
    const fence = /^```(\w*)$/.exec(text);
    if (!fence) {
      if (text.trim() !== '' && directives.length > 0)
        throw new Error(
          `README line ${directives[0]!.line}: a readme-test comment must come right before a block`,
        );
      continue;
    }
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`README line ${start}: unclosed code block`);
    const language = fence[1];
    const commands =
      language === 'sh'
        ? shCommands(body, start + 1)
        : language === 'console'
          ? consoleCommands(body, start + 1)
          : [];
    if (commands.length === 0 && directives.length > 0)
      throw new Error(
        `README line ${directives[0]!.line}: readme-test directives before a block with no commands`,
      );
    const bound = directives.flatMap((d) => {
      if (d.every) return commands.map((target) => ({ ...d, target }));
      const exact = commands.filter((c) => c.command.replace(/\s+#.*$/s, '') === d.prefix);
      const matches =
        exact.length > 0 ? exact : commands.filter((c) => c.command.startsWith(d.prefix));
      if (matches.length !== 1)
        throw new Error(
          `README line ${d.line}: \`${d.prefix}\` matches ${matches.length} commands of the next block (must be 1)`,
        );
      return [{ ...d, target: matches[0]! }];
    });
    for (const c of commands) {
      const mine = bound.filter((d) => d.target === c);
      const modes = mine.filter((d) => MODES.includes(d.verb));
      if (modes.length > 1)
        throw new Error(`README line ${c.line}: more than one of ${MODES.join('/')}`);
      const mode = modes[0];
      const as = mine.find((d) => d.verb === 'as');
      const reason = [mode, as]
        .filter((d) => d !== undefined && (d.verb === 'skip' || d.verb === 'as'))
        .map((d) => d!.reason)
        .join('; ');
      steps.push({
        command: c.command,
        run: as?.argument ?? c.command,
        mode: (mode?.verb as StepMode | undefined) ?? 'run',
        until: mode?.argument,
        needs: mine.flatMap((d) => (d.verb === 'needs' ? capabilities(d.argument!, d.line) : [])),
        before: mine.find((d) => d.verb === 'before')?.argument,
        capture: mine.find((d) => d.verb === 'capture')?.argument,
        expected: c.expected,
        reason: reason || undefined,
        deferred: mine.some((d) => d.verb === 'defer'),
        line: c.line,
        section,
      });
    }
    directives = [];
  }
  return [...steps.filter((s) => !s.deferred), ...steps.filter((s) => s.deferred)];
}

// What may legitimately differ between the README's output and a run, each rule narrow: an AGE column's cells
// (kubectl's durations), RFC 3339 timestamps, object uids, a token's random id/secret, and MACs the pool chose (at
// random): each MAC no README command names becomes `<mac1>`, `<mac2>`… in order of first appearance, so the same
// pool MAC must appear where the README shows the same one, and a MAC a command gave must appear as given. Table
// padding follows the widest cell, so runs of spaces count as one. Nothing else is rewritten: a name, a phase or a
// message that changes is a difference.
const DURATION = /^\d+[smhdy](\d+[smh])?$/;
const RULES: Array<[RegExp, string]> = [
  [/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/g, '<time>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uid>'],
  [/\bharrow_[0-9a-f]{12}_[A-Za-z0-9_-]+/g, 'harrow_<id>_<secret>'],
];

function normaliseAgeColumn(lines: string[]): string[] {
  const header = lines.findIndex((l) => /^[A-Z][A-Z0-9_-]*( +[A-Z][A-Z0-9_-]*)+$/.test(l.trim()));
  if (header < 0) return lines;
  const at = lines[header]!.search(/(^| )AGE( |$)/);
  if (at < 0) return lines;
  const start = lines[header]![at] === ' ' ? at + 1 : at;
  return lines.map((l, i) => {
    if (i <= header) return l;
    const cell = /^\S+/.exec(l.slice(start));
    if (!cell || (start > 0 && l[start - 1] !== ' ') || !DURATION.test(cell[0])) return l;
    return `${l.slice(0, start)}<age>${l.slice(start + cell[0].length)}`;
  });
}

const MAC = /\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b/g;

/** The MACs the README's commands name (given by the user, so never normalised). */
export function givenMacs(steps: readonly Step[]): Set<string> {
  return new Set(steps.flatMap((s) => s.command.match(MAC) ?? []));
}

/** The output with the rules above applied, line by line, trailing blank lines dropped. */
export function normaliseOutput(text: string, given: ReadonlySet<string> = new Set()): string {
  const lines = normaliseAgeColumn(text.replace(/\s+$/, '').split('\n'));
  const chosen = new Map<string, string>();
  return lines
    .map((l) =>
      RULES.reduce((s, [re, to]) => s.replace(re, to), l)
        .replace(MAC, (mac) => {
          if (given.has(mac)) return mac;
          if (!chosen.has(mac)) chosen.set(mac, `<mac${chosen.size + 1}>`);
          return chosen.get(mac)!;
        })
        .replace(/ {2,}/g, ' ')
        .trimEnd(),
    )
    .join('\n');
}

/** undefined when `actual` shows what the README does; else a message naming the first line that differs. */
export function compareOutput(
  expected: string,
  actual: string,
  given: ReadonlySet<string> = new Set(),
): string | undefined {
  const want = normaliseOutput(expected, given).split('\n');
  const got = normaliseOutput(actual, given).split('\n');
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (want[i] !== got[i])
      return `output line ${i + 1} differs:\n  README: ${want[i] ?? '(no line)'}\n  actual: ${got[i] ?? '(no line)'}\n--- actual output ---\n${actual}`;
  }
  return undefined;
}

/**
 * The first of `zones` in which a maintenance window (cron, duration) is shut from `from` until `forMs` later: the time
 * zone the test gives the README's example window, so that `restart --in-window` plans a restart (and `--cancel` has
 * one to cancel) whenever the test runs — UTC, as the README shows, unless the run falls into the window's hours.
 */
export function zoneKeepingWindowShut(
  schedule: string,
  duration: string,
  from: Date,
  forMs: number,
  zones: readonly string[] = ['UTC', 'Etc/GMT+12'],
): string {
  const durationMinutes = parseWindowDuration(duration);
  if (durationMinutes === undefined) throw new Error(`not a window duration: ${duration}`);
  const zone = zones.find(
    (timeZone) =>
      !windowContaining({ cron: schedule, durationMinutes, timeZone }, from) &&
      nextWindowStart(schedule, timeZone, from).getTime() > from.getTime() + forMs,
  );
  if (!zone)
    throw new Error(
      `the window ${schedule} (${duration}) opens within ${forMs} ms in each of ${zones.join(', ')}`,
    );
  return zone;
}

/** Whether `output` shows `text`: contains it, or for `/RE/` has a line matching RE. */
export function shows(output: string, text: string): boolean {
  const re = /^\/(.+)\/$/.exec(text);
  return re ? new RegExp(re[1]!, 'm').test(output) : output.includes(text);
}
