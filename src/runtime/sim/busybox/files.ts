// busybox `touch`, `rm`, `echo`, `head -c` and `sync` in the simulated guest: files on its root disk and its block
// devices (see ../guest-disks.ts).
import { type Applet, result } from './guest-os.ts';

export const touch: Applet = (args, os) => {
  for (const path of args.filter((a) => !a.startsWith('-')))
    if (os.readFile(path) === undefined) os.writeFile(path, '');
  return result(0);
};

export const rm: Applet = (args, os) => {
  const force = args.includes('-f');
  let stderr = '';
  for (const path of args.filter((a) => !a.startsWith('-'))) {
    if (!os.removeFile(path) && !force)
      stderr += `rm: can't remove '${path}': No such file or directory\n`;
  }
  return result(stderr ? 1 : 0, '', stderr);
};

export const echo: Applet = (args) => {
  const noNewline = args[0] === '-n';
  const words = noNewline ? args.slice(1) : args;
  return result(0, `${words.join(' ')}${noNewline ? '' : '\n'}`);
};

/** `head -c N FILE`: the first N bytes (a block device reads as zeros past what was written). */
export const head: Applet = (args, os) => {
  const at = args.indexOf('-c');
  const count = at >= 0 ? Number(args[at + 1]) : NaN;
  const path = args.filter((_, i) => i !== at && i !== at + 1)[0];
  if (!Number.isInteger(count) || count < 0 || path === undefined)
    return result(1, '', 'head: sim: only `head -c N FILE` is modelled\n');
  const content = os.readFile(path);
  if (content === undefined) return result(1, '', `head: ${path}: No such file or directory\n`);
  const zeros = path.startsWith('/dev/') ? '\0'.repeat(Math.max(0, count - content.length)) : '';
  return result(0, (content + zeros).slice(0, count));
};

export const sync: Applet = () => result(0);
