// Busybox-style short-option parsing (getopt32): `-nq`, `-t3`, `-t 3`, `--` and operands anywhere.

export interface ParsedOptions {
  flags: Set<string>;
  values: Map<string, string>;
  operands: string[];
}

export type GetoptResult = { ok: true; options: ParsedOptions } | { ok: false; message: string };

/** `spec` lists option letters; a letter followed by `:` takes a value (e.g. `i:nqt:`). */
export function getopt(args: string[], spec: string): GetoptResult {
  const takesValue = new Map<string, boolean>();
  for (let i = 0; i < spec.length; i++) {
    const letter = spec[i] ?? '';
    const valued = spec[i + 1] === ':';
    takesValue.set(letter, valued);
    if (valued) i++;
  }
  const options: ParsedOptions = { flags: new Set(), values: new Map(), operands: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      options.operands.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      options.operands.push(arg);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j] ?? '';
      const valued = takesValue.get(letter);
      if (valued === undefined) return { ok: false, message: `invalid option -- '${letter}'` };
      if (!valued) {
        options.flags.add(letter);
        continue;
      }
      const attached = arg.slice(j + 1);
      if (attached) {
        options.values.set(letter, attached);
      } else {
        const next = args[++i];
        if (next === undefined)
          return { ok: false, message: `option requires an argument -- '${letter}'` };
        options.values.set(letter, next);
      }
      break;
    }
  }
  return { ok: true, options };
}
