// `harrow console VM`: the guest's serial console in this terminal (raw mode), as `virtctl console`; Ctrl-] leaves.
import type { RawData } from 'ws';
import { CliError, UsageError } from './errors.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

/** Ctrl-] (GS), virtctl's and telnet's escape. */
export const ESCAPE_BYTE = 0x1d;

interface RawCapable {
  isTTY?: boolean;
  setRawMode?: (raw: boolean) => unknown;
}

export async function runConsole(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [name, extra] = args.positionals;
  if (name === undefined) throw new UsageError('console: missing VM', 'console');
  if (extra !== undefined)
    throw new UsageError(`console: unexpected argument ${JSON.stringify(extra)}`, 'console');
  const namespace = ctx.namespace();
  const socket = await ctx.client().openConsole(namespace, name);
  ctx.io.stderr.write(`Successfully connected to ${name} console. The escape sequence is ^]\r\n`);
  const stdin = ctx.io.stdin();
  const terminal = stdin as unknown as RawCapable;
  const raw = terminal.isTTY === true && typeof terminal.setRawMode === 'function';
  if (raw) terminal.setRawMode!(true);
  let clientClosed = false;
  try {
    const ended = new Promise<{ code: number; reason: string }>((resolve) => {
      socket.on('message', (data: RawData) => {
        const bytes = Buffer.isBuffer(data)
          ? data
          : Array.isArray(data)
            ? Buffer.concat(data)
            : Buffer.from(data);
        ctx.io.stdout.write(bytes as unknown as string);
      });
      socket.on('close', (code: number, reason: Buffer) =>
        resolve({ code, reason: reason.toString('utf8') }),
      );
      socket.on('error', (e: Error) => resolve({ code: 1006, reason: e.message }));
    });
    void (async () => {
      for await (const chunk of stdin) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        const escape = bytes.indexOf(ESCAPE_BYTE);
        const before = escape >= 0 ? bytes.subarray(0, escape) : bytes;
        if (before.length > 0 && socket.readyState === socket.OPEN)
          socket.send(before, { binary: true });
        if (escape >= 0) break;
      }
      // Ctrl-] or the end of the input: the client closes.
      clientClosed = true;
      if (socket.readyState === socket.OPEN) socket.close(1000, 'the console client left');
    })().catch(() => socket.close());
    const { code, reason } = await ended;
    if (clientClosed) return 0;
    throw new CliError(
      `console: the connection ended${reason ? `: ${reason}` : ` (WebSocket code ${code})`}`,
    );
  } finally {
    if (raw) terminal.setRawMode!(false);
    ctx.io.stderr.write('\r\n');
    (stdin as unknown as { pause?: () => void; destroy?: () => void }).destroy?.();
  }
}
