// Command-line parsing: global flags (anywhere on the line), the command word, its own flags, and what follows `--`.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const GLOBAL_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  kubeconfig: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface GlobalFlags {
  server?: string;
  token?: string;
  kubeconfig?: string;
  namespace?: string;
  allNamespaces: boolean;
  output: OutputFormat;
  /** `-o wide`: a table with the server's extra columns too (get only). */
  wide: boolean;
  help: boolean;
}

export interface ParsedCommandLine {
  /** The first word that is not a flag (undefined when there is none). */
  command?: string;
  globals: GlobalFlags;
  /** The command's own flags. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Words after the command word (before `--`). */
  positionals: string[];
  /** Everything after the first `--`, untouched (the guest command of `exec`). */
  rest: string[];
  /** Whether `--` was on the line at all. */
  dashDash: boolean;
}

const takesValue = (specs: OptionSpec, flag: string): boolean => {
  if (flag.startsWith('--')) {
    const name = flag.slice(2);
    return !name.includes('=') && specs[name]?.type === 'string';
  }
  // -n NS, but -nNS carries its value; clusters like -Ao are booleans then one last value taker.
  const letters = flag.slice(1);
  const last = letters[letters.length - 1];
  const spec = Object.values(specs).find((s) => s.short === last);
  return letters.length === 1 && spec?.type === 'string';
};

/** Finds the command word: the first word that is neither a global flag nor a global flag's value. */
export function findCommand(argv: string[]): { command?: string; index: number } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { index: -1 };
    if (a.startsWith('-') && a !== '-') {
      if (takesValue(GLOBAL_OPTIONS, a)) i++;
      continue;
    }
    return { command: a, index: i };
  }
  return { index: -1 };
}

/** Parses the whole line with the global flags plus `commandOptions`; unknown flags are usage errors. */
export function parseCommandLine(
  argv: string[],
  commandOptions: OptionSpec = {},
  commandForHelp?: string,
): ParsedCommandLine {
  const dd = argv.indexOf('--');
  const before = dd >= 0 ? argv.slice(0, dd) : argv;
  const rest = dd >= 0 ? argv.slice(dd + 1) : [];
  const { command, index } = findCommand(before);
  const words = index >= 0 ? [...before.slice(0, index), ...before.slice(index + 1)] : before;
  let parsed: ReturnType<
    typeof parseArgs<{ options: OptionSpec; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({
      args: words,
      options: { ...GLOBAL_OPTIONS, ...commandOptions },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(parseArgsMessage(e), commandForHelp ?? command);
  }
  const v = parsed.values;
  const asked = (v.output as string | undefined) ?? 'table';
  const wide = asked === 'wide';
  const output = wide ? 'table' : asked;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    throw new UsageError(
      `-o ${output}: unknown output format (one of ${OUTPUT_FORMATS.join(', ')}, and wide for get)`,
      commandForHelp ?? command,
    );
  }
  if (wide && (commandForHelp ?? command) !== 'get') {
    throw new UsageError(
      `-o wide: only get prints wide tables (one of ${OUTPUT_FORMATS.join(', ')})`,
      commandForHelp ?? command,
    );
  }
  const namespace = v.namespace as string | undefined;
  if (namespace === '') throw new UsageError('-n: an empty namespace', commandForHelp ?? command);
  const globals: GlobalFlags = {
    allNamespaces: v['all-namespaces'] === true,
    output: output as OutputFormat,
    wide,
    help: v.help === true,
    ...(typeof v.server === 'string' ? { server: v.server } : {}),
    ...(typeof v.token === 'string' ? { token: v.token } : {}),
    ...(typeof v.kubeconfig === 'string' ? { kubeconfig: v.kubeconfig } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
  };
  const values: ParsedCommandLine['values'] = {};
  for (const key of Object.keys(commandOptions))
    values[key] = v[key] as string | boolean | string[] | undefined;
  return {
    ...(command !== undefined ? { command } : {}),
    globals,
    values,
    positionals: parsed.positionals,
    rest,
    dashDash: dd >= 0,
  };
}

function parseArgsMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const m = String(err.message ?? e);
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const flag = /'([^']+)'/.exec(m)?.[1] ?? m;
      return `unknown flag ${flag}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = /Option '([^']+)'/.exec(m)?.[1];
      return flag ? `${flag.replace(/^-\w, /, '')} needs a value` : m;
    }
    default:
      return m;
  }
}

/** Exactly `names.length` positionals, named in the message when missing or too many. */
export function expectPositionals(
  positionals: string[],
  names: string[],
  command: string,
  optional = 0,
): string[] {
  const required = names.length - optional;
  if (positionals.length < required) {
    throw new UsageError(
      `${command}: missing ${names.slice(positionals.length, required).join(' ')}`,
      command,
    );
  }
  if (positionals.length > names.length) {
    throw new UsageError(
      `${command}: unexpected argument ${JSON.stringify(positionals[names.length])}`,
      command,
    );
  }
  return positionals;
}

/** `120`, `120s`, `2m`, `1h`, `500ms` → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `${flag} ${JSON.stringify(text)}: expected a duration such as 90, 90s, 2m or 1h`,
    );
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}
