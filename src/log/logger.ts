// The process logger of `harrow serve` and `harrow agent`: readable lines (pino-pretty) when stdout is a terminal, one
// JSON object per line otherwise (files, journald, log shippers). HARROW_LOG_FORMAT=json|pretty overrides the guess.
import { pino, type Logger } from 'pino';

export type LogFormat = 'json' | 'pretty';

/** pretty on a TTY, json elsewhere, unless HARROW_LOG_FORMAT says which. */
export function logFormat(
  env: NodeJS.ProcessEnv = process.env,
  isTTY = process.stdout.isTTY === true,
): LogFormat {
  const asked = env.HARROW_LOG_FORMAT;
  if (asked === 'json' || asked === 'pretty') return asked;
  return isTTY ? 'pretty' : 'json';
}

export async function createLogger(level: string | undefined): Promise<Logger> {
  const options = { level: level ?? process.env.HARROW_LOG_LEVEL ?? 'info' };
  if (logFormat() === 'json') return pino(options);
  // Loaded only for a terminal: JSON logging needs none of it.
  const { PinoPretty } = await import('pino-pretty');
  // Synchronous, in this process (no worker thread): the lines keep their order with the CLI's own output.
  return pino(
    options,
    PinoPretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }),
  );
}
