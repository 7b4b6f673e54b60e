// Entry point of the `harrow` command (bin/harrow runs this file through tsx).
import { run } from './program.ts';

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: () => process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
// A finished command must not linger on a handle some dependency left open (a server's timers, a socket).
setTimeout(() => process.exit(code), 2000).unref();
