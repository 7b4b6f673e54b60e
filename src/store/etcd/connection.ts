// The etcd store's connection, the seam its parts (transactions, watch, compaction, list) share: the etcd3 client, the
// revisions this process has seen, the last-seen state of recently touched keys, and the state of its watch streams.
import {
  Etcd3,
  type ICompare,
  type IKeyValue,
  type IRangeRequest,
  type IRangeResponse,
  type IRequestOp,
  type IResponseHeader,
  type ITxnResponse,
  type Watcher,
} from 'etcd3';
import { Expired, HarrowError } from '../../resources/errors.ts';
import type { Stored } from './batch.ts';
import { EtcdKeys } from './keys.ts';

/** How many keys' last-seen states the write path keeps (about 2 KB each). */
const BASIS_ENTRIES = 10_000;

export const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** etcd failures (no quorum, unreachable members) reach callers as 503s, like the apiserver's storage errors. */
export function unavailable(error: unknown): HarrowError {
  if (error instanceof HarrowError) return error;
  return new HarrowError(
    'ServiceUnavailable',
    503,
    `etcd: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/** The parts of etcd3's (unexported) WatchManager that the connection has to reach. */
interface WatchManagerInternals {
  watchers: unknown[];
  stream?: { cancel(): void };
  handleResponse: (res: unknown) => void;
  handleCreatedResponse: (res: unknown) => void;
}

export class EtcdConnection {
  readonly client: Etcd3;
  readonly keys: EtcdKeys;
  /** Highest revision any etcd answer reported: where a watch without sinceResourceVersion starts. */
  seen = 0;
  /** etcd's compaction revision as far as this process knows (revisions below it are gone). */
  compacted = 0;
  closed = false;
  /** Watchers whose gRPC stream is down (etcd3 reconnects them): what they would deliver is not arriving. */
  readonly disconnected = new Set<Watcher>();
  /** Watch cancellations in flight: close() lets them finish so etcd3 has nothing left to reconnect. */
  readonly cancelling = new Set<Promise<unknown>>();
  /**
   * The last state this process saw of recently touched keys (its writes, gets, watch events): an update's first
   * compare-and-swap is built on it, saving the read. The Txn compares mod_revision, so a stale entry only fails the
   * compare (then the write reads and retries); it can never be written over a newer state.
   */
  readonly basis = new Map<string, Stored>();

  constructor(endpoints: string[], prefix: string, callTimeoutMs: number) {
    this.keys = new EtcdKeys(prefix);
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: 3000,
      grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
      defaultCallOptions: (context) =>
        context.isStream ? {} : { deadline: Date.now() + callTimeoutMs },
    });
    // etcd3 throws from inside its gRPC stream callback when a response names a watcher it lost track of (it can pin a
    // cancelled creation on the wrong watcher): that would be an uncaught exception. Report it instead.
    const manager = this.watchManager();
    if (manager) {
      for (const method of ['handleResponse', 'handleCreatedResponse'] as const) {
        const original = manager[method].bind(manager);
        manager[method] = (res) => {
          try {
            original(res);
          } catch (error) {
            process.emitWarning(`etcd watch stream: ${String(error)}`, 'HarrowStoreWarning');
          }
        };
      }
    }
  }

  private watchManager(): WatchManagerInternals | undefined {
    return (this.client as unknown as { watchManager?: WatchManagerInternals }).watchManager;
  }

  assertOpen(): void {
    if (this.closed) throw new HarrowError('ServiceUnavailable', 503, 'the store is closed');
  }

  async range(request: IRangeRequest): Promise<IRangeResponse> {
    try {
      const res = await this.client.kv.range(request);
      this.note(res.header);
      return res;
    } catch (error) {
      if (/required revision has been compacted/.test(String(error))) {
        throw new Expired('The resourceVersion for the provided list is too old.');
      }
      throw unavailable(error);
    }
  }

  async txn(request: {
    compare: ICompare[];
    success: IRequestOp[];
    failure: IRequestOp[];
  }): Promise<ITxnResponse> {
    try {
      const res = await this.client.kv.txn(request);
      this.note(res.header);
      return res;
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Keeps what this process saw of a key at `mod` (undefined: deleted) as the basis of its next write. */
  remember(key: string, text: string | undefined, mod: number): void {
    const known = this.basis.get(key);
    if (known && known.mod >= mod) return;
    this.basis.delete(key);
    // A deleted key is forgotten rather than remembered as absent: the first round then reads it.
    if (text === undefined) return;
    this.basis.set(key, { text, mod });
    if (this.basis.size > BASIS_ENTRIES)
      this.basis.delete(this.basis.keys().next().value as string);
  }

  private note(header: IResponseHeader): void {
    const r = Number(header.revision);
    if (r > this.seen) this.seen = r;
  }

  /** Follows the compaction mark (the key `keys.compacted()`): revisions below it are gone. */
  noteCompacted(kv: IKeyValue | undefined): void {
    const value = kv ? Number(kv.value.toString('utf8')) : 0;
    if (Number.isSafeInteger(value) && value > this.compacted) this.compacted = value;
  }

  /** Counts a watcher as cut off from etcd while its stream is down. */
  trackConnection(w: Watcher): void {
    w.on('disconnected', () => this.disconnected.add(w));
    w.on('connected', () => this.disconnected.delete(w));
  }

  /** Cancels a watcher; close() waits for the cancellation. */
  cancel(w: Watcher): void {
    this.disconnected.delete(w);
    this.cancelling.add(w.cancel().catch(() => undefined));
  }

  /** Waits (up to 2 s) for the watch cancellations in flight, then ends the client and its watch stream. */
  async close(): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.cancelling),
      new Promise((resolve) => (timer = setTimeout(resolve, 2000))),
    ]);
    clearTimeout(timer);
    // etcd3's close() leaves its watch manager running: its gRPC stream stays open (keeping the process alive), and a
    // watcher whose cancel could not reach etcd would reconnect forever. Nothing may watch through a closed store:
    // ignore what the stream still delivers (etcd3 throws on a response for a watcher it no longer has), drop every
    // watcher and end the stream (the manager then finds no watcher to reconnect).
    const manager = this.watchManager();
    if (manager) {
      manager.handleResponse = () => undefined;
      manager.handleCreatedResponse = () => undefined;
      manager.watchers = [];
      manager.stream?.cancel();
    }
    this.client.close();
  }
}
