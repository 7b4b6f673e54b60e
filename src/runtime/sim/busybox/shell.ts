// guest-exec's command line in the simulated guest: argv, `busybox APPLET …` or `sh -c "a; b && c || d > f"` → applets.
import type { ExecResult } from '../../types.ts';
import { type Applet, type GuestOs, result } from './guest-os.ts';
import { cat } from './cat.ts';
import { ip } from './ip.ts';
import { ping } from './ping.ts';
import { reboot } from './reboot.ts';
import { udhcpc } from './udhcpc.ts';
import { echo, head, rm, sync, touch } from './files.ts';
import { grep, printf } from './text.ts';

const APPLETS: ReadonlyMap<string, Applet> = new Map([
  ['ip', ip],
  ['cat', cat],
  ['udhcpc', udhcpc],
  ['ping', ping],
  ['reboot', reboot],
  ['touch', touch],
  ['rm', rm],
  ['echo', echo],
  ['head', head],
  ['sync', sync],
  ['printf', printf],
  ['grep', grep],
]);

const SHELLS = new Set(['sh', 'ash']);

export function runCommand(argv: string[], os: GuestOs): ExecResult {
  const [command, ...args] = argv;
  if (command === undefined || command === '') return result(127, '', 'sh: : not found\n');
  const name = command.slice(command.lastIndexOf('/') + 1);
  if (name === 'busybox') return args.length === 0 ? result(0) : runCommand(args, os);
  if (SHELLS.has(name)) return runShell(args, os);
  const applet = APPLETS.get(name);
  return applet ? applet(args, os) : result(127, '', `sh: ${command}: not found\n`);
}

function runShell(args: string[], os: GuestOs): ExecResult {
  if (args[0] === '-c') {
    const script = args[1];
    if (script === undefined) return result(2, '', 'sh: -c requires an argument\n');
    return runScript(script, os);
  }
  // guest-exec gives the shell no stdin, so a bare `sh` reads nothing and exits.
  if (args.length === 0) return result(0);
  return result(2, '', `sh: can't open '${args[0] ?? ''}': No such file or directory\n`);
}

type Token = { word: string } | { operator: ';' | '&&' | '||' } | { redirect: '>' };

/** Splits a `sh -c` script into words and list operators; a string explains syntax the sim does not model. */
function tokenize(script: string): Token[] | string {
  const tokens: Token[] = [];
  let word = '';
  let inWord = false;
  const flush = (): void => {
    if (inWord) tokens.push({ word });
    word = '';
    inWord = false;
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i] ?? '';
    if (c === "'") {
      const end = script.indexOf("'", i + 1);
      if (end < 0) return 'unterminated quoted string';
      word += script.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < script.length && script[j] !== '"'; j++) {
        const d = script[j] ?? '';
        if (d === '$' || d === '`') return 'expansions are not modelled';
        if (d === '\\' && /["\\$`]/.test(script[j + 1] ?? '')) j++;
        word += script[j] ?? '';
      }
      if (j >= script.length) return 'unterminated quoted string';
      inWord = true;
      i = j;
    } else if (c === '\\') {
      if (script[i + 1] === '\n') i++;
      else {
        word += script[++i] ?? '';
        inWord = true;
      }
    } else if (c === ' ' || c === '\t') {
      flush();
    } else if (c === ';' || c === '\n') {
      flush();
      tokens.push({ operator: ';' });
    } else if ((c === '&' || c === '|') && script[i + 1] === c) {
      flush();
      tokens.push({ operator: c === '&' ? '&&' : '||' });
      i++;
    } else if (c === '#' && !inWord) {
      while (i + 1 < script.length && script[i + 1] !== '\n') i++;
    } else if (c === '>' && script[i + 1] !== '>' && script[i + 1] !== '&') {
      flush();
      tokens.push({ redirect: '>' });
    } else if ('|&<>()$`'.includes(c)) {
      return `'${c}' is not modelled`;
    } else {
      word += c;
      inWord = true;
    }
  }
  flush();
  return tokens;
}

function runScript(script: string, os: GuestOs): ExecResult {
  const tokens = tokenize(script);
  if (typeof tokens === 'string')
    return result(2, '', `sh: sim: ${tokens} in the simulated guest's shell\n`);
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  let pending: ';' | '&&' | '||' = ';';
  let words: string[] = [];
  /** `> FILE` of the pending command: undefined none, '' the target word is still to come. */
  let redirect: string | undefined;
  const runPending = (): void => {
    if (words.length === 0) return;
    const skip = (pending === '&&' && exitCode !== 0) || (pending === '||' && exitCode === 0);
    if (!skip) {
      const r = runCommand(words, os);
      if (redirect) os.writeFile(redirect, r.stdout);
      else stdout += r.stdout;
      stderr += r.stderr;
      exitCode = r.exitCode;
    }
    words = [];
    redirect = undefined;
  };
  for (const token of tokens) {
    if ('redirect' in token) {
      if (redirect !== undefined)
        return result(2, stdout, `${stderr}sh: sim: one redirection per command is modelled\n`);
      redirect = '';
      continue;
    }
    if ('word' in token) {
      if (redirect === '') redirect = token.word;
      else words.push(token.word);
      continue;
    }
    if (redirect === '')
      return result(2, stdout, `${stderr}sh: syntax error: unexpected redirection\n`);
    if (words.length === 0 && token.operator !== ';') {
      return result(2, stdout, `${stderr}sh: syntax error: unexpected "${token.operator}"\n`);
    }
    runPending();
    pending = token.operator;
  }
  if (redirect === '') return result(2, stdout, `${stderr}sh: syntax error: unexpected newline\n`);
  runPending();
  return result(exitCode, stdout, stderr);
}
