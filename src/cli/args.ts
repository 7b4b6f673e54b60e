// What a command gets from its command line (parsed by commander, program.ts): the global flags, its own flags, its
// positionals and what follows `--`; and the parsing of flag values every command shares (-o, -n, durations).
import { UsageError } from './errors.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The global flags as commander parsed them (commands.ts declares them). */
export interface GlobalOptionValues {
  server?: string;
  token?: string;
  kubeconfig?: string;
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
}

export interface GlobalFlags {
  server?: string;
  token?: string;
  kubeconfig?: string;
  namespace?: string;
  allNamespaces: boolean;
  output: OutputFormat;
  /** `-o wide`: a table with the server's extra columns too (get only). */
  wide: boolean;
  /** `-o name`: one `kind.group/name` line per object, as kubectl prints them (get only; output is then table). */
  names: boolean;
}

export interface ParsedCommandLine {
  globals: GlobalFlags;
  /** The command's own flags, by their long name (`dry-run`). */
  values: Record<string, string | boolean | string[] | undefined>;
  /** The command's arguments (a subcommand's word first: `['create']` for `token create`). */
  positionals: string[];
  /** Everything after the first `--`, untouched (the guest command of `exec`). */
  rest: string[];
  /** Whether `--` was on the line at all. */
  dashDash: boolean;
}

/** The global flags `command` runs with; -o and -n are checked here, as they mean the same for every command. */
export function globalFlags(v: GlobalOptionValues, command: string): GlobalFlags {
  const asked = v.output ?? 'table';
  const wide = asked === 'wide';
  const names = asked === 'name';
  const output = wide || names ? 'table' : asked;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    throw new UsageError(
      `-o ${output}: unknown output format (one of ${OUTPUT_FORMATS.join(', ')}, and wide or name for get)`,
      command,
    );
  }
  if ((wide || names) && command !== 'get') {
    throw new UsageError(
      `-o ${asked}: only get prints ${wide ? 'wide tables' : 'names'} (one of ${OUTPUT_FORMATS.join(', ')})`,
      command,
    );
  }
  if (v.namespace === '') throw new UsageError('-n: an empty namespace', command);
  return {
    allNamespaces: v.allNamespaces === true,
    output: output as OutputFormat,
    wide,
    names,
    ...(v.server !== undefined ? { server: v.server } : {}),
    ...(v.token !== undefined ? { token: v.token } : {}),
    ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig } : {}),
    ...(v.namespace !== undefined ? { namespace: v.namespace } : {}),
  };
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
