// busybox `printf` (write a config file: `printf 'a\nb\n' > FILE`) and `grep -rnisFl` (find which file names a MAC) in
// the simulated guest, over the files of its root disk.
import { type Applet, result } from './guest-os.ts';

/** `printf FORMAT [ARG…]`: `\n`, `\t`, `\\` and `%s`/`%%` (what writing a config file needs). */
export const printf: Applet = (args) => {
  const [format, ...rest] = args;
  if (format === undefined) return result(1, '', 'printf: usage: printf FORMAT [ARG]...\n');
  let out = '';
  let next = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    const d = format[i + 1];
    if (c === '\\' && d !== undefined) {
      out += d === 'n' ? '\n' : d === 't' ? '\t' : d === '\\' ? '\\' : `\\${d}`;
      i++;
    } else if (c === '%' && d === 's') {
      out += rest[next++] ?? '';
      i++;
    } else if (c === '%' && d === '%') {
      out += '%';
      i++;
    } else out += c;
  }
  return result(0, out);
};

/** `grep [-rnisFlhH] PATTERN PATH…`: fixed strings or plain text patterns; a directory needs -r; -s hides missing paths. */
export const grep: Applet = (args, os) => {
  const flags = new Set<string>();
  const words: string[] = [];
  let endOfOptions = false;
  for (const a of args) {
    if (!endOfOptions && a === '--') endOfOptions = true;
    else if (!endOfOptions && a.startsWith('-') && a.length > 1)
      for (const f of a.slice(1)) flags.add(f);
    else words.push(a);
  }
  const unsupported = [...flags].filter((f) => !'rRnisFlhHE'.includes(f));
  if (unsupported.length > 0)
    return result(2, '', `grep: sim: option -${unsupported.join('')} is not modelled\n`);
  const [pattern, ...paths] = words;
  if (pattern === undefined) return result(2, '', 'grep: usage: grep [-rnisFl] PATTERN FILE...\n');
  const recursive = flags.has('r') || flags.has('R');
  const fold = (t: string): string => (flags.has('i') ? t.toLowerCase() : t);
  const needle = fold(pattern);
  let stdout = '';
  let stderr = '';
  let found = false;
  const files: string[] = [];
  for (const path of paths) {
    if (os.readFile(path) !== undefined) {
      files.push(path);
      continue;
    }
    const dir = `${path.replace(/\/$/, '')}/`;
    const under = os.listFiles(dir);
    if (under.length > 0 && recursive) files.push(...under);
    else if (under.length > 0) stderr += `grep: ${path}: Is a directory\n`;
    else if (!flags.has('s')) stderr += `grep: ${path}: No such file or directory\n`;
  }
  const prefixed = flags.has('H') || files.length > 1 || recursive;
  for (const file of files) {
    const lines = (os.readFile(file) ?? '').split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (const [i, line] of lines.entries()) {
      if (!fold(line).includes(needle)) continue;
      found = true;
      if (flags.has('l')) {
        stdout += `${file}\n`;
        break;
      }
      const where = prefixed && !flags.has('h') ? `${file}:` : '';
      stdout += `${where}${flags.has('n') ? `${i + 1}:` : ''}${line}\n`;
    }
  }
  return result(found ? 0 : stderr ? 2 : 1, stdout, flags.has('s') ? '' : stderr);
};
