// QMP client (QEMU Machine Protocol over a unix socket): commands, events, and the rx-filter view of guest MACs.
import type { Socket } from 'node:net';
import { connectUnix, isObject, JsonLineDecoder, type JsonObject } from './json-stream.ts';

export interface QmpEvent {
  event: string;
  data: JsonObject;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    desc: string,
  ) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class QmpClient {
  private readonly decoder = new JsonLineDecoder();
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners = new Set<(event: QmpEvent) => void>();
  private nextId = 1;
  private greeted = false;
  private greeting?: (value: JsonObject) => void;
  private isClosed = false;
  /** Resolves when the connection ends (QEMU exited, or close()). */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    let markClosed = (): void => {};
    this.closed = new Promise((resolve) => (markClosed = resolve));
    socket.on('data', (chunk: Buffer) => {
      for (const message of this.decoder.push(chunk)) this.dispatch(message);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.isClosed = true;
      for (const [id, request] of this.pending) {
        clearTimeout(request.timer);
        request.reject(new Error(`QMP ${request.command}: connection closed`));
        this.pending.delete(id);
      }
      markClosed();
    });
  }

  /** Connects, reads the greeting and leaves capabilities negotiation mode. */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const client = new QmpClient(await connectUnix(path, timeoutMs));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`QMP ${path}: no greeting within ${timeoutMs} ms`)),
        timeoutMs,
      );
      if (client.greeted) {
        clearTimeout(timer);
        resolve();
      }
      client.greeting = () => {
        clearTimeout(timer);
        resolve();
      };
      void client.closed.then(() => {
        clearTimeout(timer);
        reject(new Error(`QMP ${path}: closed before greeting`));
      });
    }).catch((error: unknown) => {
      client.close();
      throw error;
    });
    await client.execute('qmp_capabilities');
    return client;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  private dispatch(message: JsonObject): void {
    if ('QMP' in message) {
      this.greeted = true;
      this.greeting?.(message);
      return;
    }
    if (typeof message.event === 'string') {
      const event: QmpEvent = {
        event: message.event,
        data: isObject(message.data) ? message.data : {},
      };
      if (isObject(message.timestamp)) event.timestamp = message.timestamp as QmpEvent['timestamp'];
      for (const listener of this.eventListeners) listener(event);
      return;
    }
    const id = typeof message.id === 'string' ? message.id : undefined;
    const request = id === undefined ? undefined : this.pending.get(id);
    if (!request || id === undefined) return;
    this.pending.delete(id);
    clearTimeout(request.timer);
    if (isObject(message.error)) {
      request.reject(
        new QmpError(request.command, String(message.error.class), String(message.error.desc)),
      );
    } else {
      request.resolve(message.return);
    }
  }

  execute(command: string, args?: JsonObject, timeoutMs = 10_000): Promise<unknown> {
    if (this.isClosed) return Promise.reject(new Error(`QMP ${command}: connection closed`));
    const id = `h${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve, reject, timer });
      const message: JsonObject = { execute: command, id };
      if (args) message.arguments = args;
      this.socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One NIC as QMP `query-rx-filter` reports it; `mainMac` is the MAC the guest driver programmed. */
export interface RxFilter {
  name: string;
  mainMac: string;
}

export function parseRxFilters(value: unknown): RxFilter[] {
  if (!Array.isArray(value)) throw new Error('query-rx-filter: expected an array');
  return value.filter(isObject).map((entry) => {
    if (typeof entry.name !== 'string' || typeof entry['main-mac'] !== 'string') {
      throw new Error('query-rx-filter: entry without name or main-mac');
    }
    return { name: entry.name, mainMac: entry['main-mac'].toLowerCase() };
  });
}

/**
 * Also re-arms NIC_RX_FILTER_CHANGED: QEMU sends that event once per NIC and then stays silent until the
 * filter is queried again.
 */
export async function queryRxFilter(client: QmpClient, name?: string): Promise<RxFilter[]> {
  return parseRxFilters(await client.execute('query-rx-filter', name ? { name } : undefined));
}

export type RunState = string;

export async function queryStatus(
  client: QmpClient,
): Promise<{ running: boolean; status: RunState }> {
  const value = await client.execute('query-status');
  if (!isObject(value) || typeof value.status !== 'string')
    throw new Error('query-status: unexpected reply');
  return { running: value.running === true, status: value.status };
}
