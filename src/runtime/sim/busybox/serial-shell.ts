// The simulated guest's ttyS0: a terminal line discipline (echo, backspace, CR) with getty's login prompt and a shell
// that runs the same commands as guest-exec, as the busybox guest's getty + login + sh do on the real serial port.
import type { ExecResult } from '../../types.ts';

export const SIM_HOSTNAME = 'harrow-guest';
export const LOGIN_PROMPT = `${SIM_HOSTNAME} login: `;
export const SHELL_PROMPT = `${SIM_HOSTNAME}:/root# `;

/** The terminal converts each newline to CR LF on output (onlcr). */
const crlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');

export class SerialShell {
  private line = '';
  private state: 'login' | 'shell' = 'login';

  constructor(
    private readonly write: (text: string) => void,
    /** Runs one command line in the guest (sh -c LINE). */
    private readonly run: (line: string) => ExecResult,
  ) {}

  /** What the guest prints on its serial port while booting, ending with getty's prompt. */
  boot(): void {
    this.line = '';
    this.state = 'login';
    this.write(crlf(`harrow-guest: init\n\nHarrow guest (busybox) /dev/ttyS0\n\n${LOGIN_PROMPT}`));
  }

  /** Bytes typed on the console. */
  input(data: Buffer): void {
    for (const char of data.toString('utf8')) {
      if (char === '\r' || char === '\n') {
        this.write('\r\n');
        const line = this.line;
        this.line = '';
        this.enter(line);
      } else if (char === '\x7f' || char === '\b') {
        if (this.line.length > 0) {
          this.line = this.line.slice(0, -1);
          this.write('\b \b');
        }
      } else if (char === '\x03') {
        // Ctrl-C: the line is dropped, as the shell does on SIGINT.
        this.line = '';
        this.write(`^C\r\n${this.prompt()}`);
      } else if (char === '\x04') {
        if (this.line === '' && this.state === 'shell') this.enter('exit');
      } else if (char >= ' ') {
        this.line += char;
        this.write(char);
      }
    }
  }

  private prompt(): string {
    return this.state === 'login' ? LOGIN_PROMPT : SHELL_PROMPT;
  }

  private enter(line: string): void {
    if (this.state === 'login') {
      const user = line.trim();
      if (user === '') return this.write(LOGIN_PROMPT);
      // root has no password in the busybox guest (/etc/passwd), so login asks for none.
      if (user !== 'root') return this.write(crlf(`\nLogin incorrect\n${LOGIN_PROMPT}`));
      this.state = 'shell';
      return this.write(SHELL_PROMPT);
    }
    const command = line.trim();
    if (command === 'exit' || command === 'logout') {
      this.state = 'login';
      return this.write(crlf(`\nHarrow guest (busybox) /dev/ttyS0\n\n${LOGIN_PROMPT}`));
    }
    if (command !== '') {
      const result = this.run(command);
      this.write(crlf(result.stdout + result.stderr));
    }
    this.write(SHELL_PROMPT);
  }
}
