// Guest agent client (qemu-ga over the virtio-serial chardev socket): sync, ping, interfaces, guest-exec.
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { connectUnix, isObject, JsonLineDecoder, type JsonObject } from './json-stream.ts';

export class GuestAgentError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(`guest agent ${command}: ${message}`);
    this.name = 'GuestAgentError';
  }
}

export interface AgentInterface {
  interfaceName: string;
  mac: string;
  ipAddresses: string[];
}

export interface AgentExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  signal?: number;
}

/** guest-network-get-interfaces → interfaces with a hardware address (lo has none worth showing). */
export function parseAgentInterfaces(value: unknown): AgentInterface[] {
  if (!Array.isArray(value)) throw new Error('guest-network-get-interfaces: expected an array');
  const interfaces: AgentInterface[] = [];
  for (const entry of value.filter(isObject)) {
    if (typeof entry.name !== 'string') continue;
    const mac =
      typeof entry['hardware-address'] === 'string' ? entry['hardware-address'].toLowerCase() : '';
    if (entry.name === 'lo' || mac === '' || mac === '00:00:00:00:00:00') continue;
    const addresses = Array.isArray(entry['ip-addresses'])
      ? entry['ip-addresses'].filter(isObject)
      : [];
    const ipAddresses = addresses
      .map((address) => address['ip-address'])
      .filter((address): address is string => typeof address === 'string');
    interfaces.push({ interfaceName: entry.name, mac, ipAddresses });
  }
  return interfaces;
}

/** guest-exec-status → the result once the process exited, undefined while it runs. */
export function parseExecStatus(value: unknown): AgentExecResult | undefined {
  if (!isObject(value)) throw new Error('guest-exec-status: unexpected reply');
  if (value.exited !== true) return undefined;
  const decode = (field: unknown): string =>
    typeof field === 'string' ? Buffer.from(field, 'base64').toString('utf8') : '';
  const signal = typeof value.signal === 'number' ? value.signal : undefined;
  // A process killed by a signal has no exit code; report it the way a shell would (128 + signal).
  const exitCode =
    typeof value.exitcode === 'number' ? value.exitcode : signal !== undefined ? 128 + signal : -1;
  const result: AgentExecResult = {
    exitCode,
    stdout: decode(value['out-data']),
    stderr: decode(value['err-data']),
  };
  if (signal !== undefined) result.signal = signal;
  return result;
}

type Waiter = {
  accept: (message: JsonObject) => boolean;
  resolve: (message: JsonObject) => void;
  reject: (error: Error) => void;
};

/**
 * The agent answers requests in order and without ids, and the chardev keeps whatever the host wrote while the
 * guest was down; so requests go one at a time, and after any timeout the next request first resynchronises
 * with guest-sync-delimited (a fresh random id; everything before its answer is stale).
 */
export class GuestAgentClient {
  private readonly decoder = new JsonLineDecoder();
  private waiter?: Waiter;
  private queue: Promise<unknown> = Promise.resolve();
  private synced = false;
  private isClosed = false;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    let markClosed = (): void => {};
    this.closed = new Promise((resolve) => (markClosed = resolve));
    socket.on('data', (chunk: Buffer) => {
      for (const message of this.decoder.push(chunk)) {
        const waiter = this.waiter;
        if (waiter?.accept(message)) {
          this.waiter = undefined;
          waiter.resolve(message);
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.isClosed = true;
      this.waiter?.reject(new GuestAgentError('connection', 'closed'));
      this.waiter = undefined;
      markClosed();
    });
  }

  static async connect(path: string, timeoutMs = 10_000): Promise<GuestAgentClient> {
    return new GuestAgentClient(await connectUnix(path, timeoutMs));
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Marks the stream as untrusted (e.g. the guest rebooted); the next request resynchronises first. */
  invalidate(): void {
    this.synced = false;
  }

  private exchange(
    command: string,
    payload: Buffer,
    accept: (message: JsonObject) => boolean,
    timeoutMs: number,
  ): Promise<JsonObject> {
    if (this.isClosed) return Promise.reject(new GuestAgentError(command, 'connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.synced = false;
        reject(new GuestAgentError(command, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        accept,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.socket.write(payload);
    });
  }

  private async sync(timeoutMs: number): Promise<void> {
    const id = randomInt(1, 2 ** 31);
    const request = JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } });
    // The leading 0xFF makes the agent drop any half-read request; its answer is 0xFF-prefixed too.
    await this.exchange(
      'guest-sync-delimited',
      Buffer.concat([Buffer.from([0xff]), Buffer.from(`${request}\n`)]),
      (message) => message.return === id,
      timeoutMs,
    );
    this.synced = true;
  }

  /** Runs one agent command (serialised with the others); resolves with its `return` value. */
  execute(command: string, args?: JsonObject, timeoutMs = 5_000): Promise<unknown> {
    const task = this.queue.then(async () => {
      if (!this.synced) await this.sync(timeoutMs);
      const message: JsonObject = { execute: command };
      if (args) message.arguments = args;
      const reply = await this.exchange(
        command,
        Buffer.from(`${JSON.stringify(message)}\n`),
        () => true,
        timeoutMs,
      );
      if (isObject(reply.error))
        throw new GuestAgentError(
          command,
          `${String(reply.error.class)}: ${String(reply.error.desc)}`,
        );
      return reply.return;
    });
    this.queue = task.catch(() => undefined);
    return task;
  }

  /** Resolves once the agent answers guest-sync-delimited and guest-ping. */
  async ping(timeoutMs = 2_000): Promise<void> {
    await this.execute('guest-ping', undefined, timeoutMs);
  }

  async networkInterfaces(timeoutMs = 5_000): Promise<AgentInterface[]> {
    return parseAgentInterfaces(
      await this.execute('guest-network-get-interfaces', undefined, timeoutMs),
    );
  }

  async osInfo(timeoutMs = 5_000): Promise<JsonObject> {
    const value = await this.execute('guest-get-osinfo', undefined, timeoutMs);
    return isObject(value) ? value : {};
  }

  /** guest-exec with captured output; polls guest-exec-status until the process exits or timeoutMs passes. */
  async exec(argv: readonly string[], timeoutMs = 30_000): Promise<AgentExecResult> {
    if (argv.length === 0) throw new GuestAgentError('guest-exec', 'argv is empty');
    const deadline = Date.now() + timeoutMs;
    const started = await this.execute(
      'guest-exec',
      { path: argv[0], arg: argv.slice(1), 'capture-output': true },
      Math.min(timeoutMs, 10_000),
    );
    if (!isObject(started) || typeof started.pid !== 'number')
      throw new GuestAgentError('guest-exec', 'no pid in reply');
    let delay = 20;
    for (;;) {
      const result = parseExecStatus(
        await this.execute('guest-exec-status', { pid: started.pid }, 5_000),
      );
      if (result) return result;
      if (Date.now() >= deadline)
        throw new GuestAgentError(
          'guest-exec',
          `${argv.join(' ')}: still running after ${timeoutMs} ms`,
        );
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 200);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
