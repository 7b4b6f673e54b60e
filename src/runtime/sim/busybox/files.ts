// busybox `touch` and `rm` in the simulated guest: files on the guest's root disk (see ../guest-disks.ts).
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
