// busybox `cat` in the simulated guest: /sys/class/net/DEV/address, and the files on the guest's root disk.
import { type Applet, result } from './guest-os.ts';

export const cat: Applet = (args, os) => {
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  for (const path of args) {
    const device = /^\/sys\/class\/net\/([^/]+)\/address$/.exec(path)?.[1];
    const mac =
      device === 'lo' ? '00:00:00:00:00:00' : os.links().find((l) => l.name === device)?.mac;
    const content = mac !== undefined ? `${mac}\n` : os.readFile(path);
    if (content === undefined) {
      stderr += `cat: can't open '${path}': No such file or directory\n`;
      exitCode = 1;
    } else {
      stdout += content;
    }
  }
  return result(exitCode, stdout, stderr);
};
