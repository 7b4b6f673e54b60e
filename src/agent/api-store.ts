// A ResourceStore backed by Harrow's HTTP API (HarrowClient), so node-side controllers run on a host without the database.
// The API's own rule for which kinds write status only through `/status`, so the two cannot drift apart.
import { hasStatusSubresource } from '../apiserver/incoming-object.ts';
import { kindInfo } from '../resources/kinds.ts';
import { AlreadyExists, Conflict, Expired, NotFound } from '../resources/errors.ts';
import { refOf, type KubeObject, type ObjectRef } from '../resources/meta.ts';
import {
  ApiError,
  TransportError,
  type HarrowClient,
  type WatchHandle as ClientWatchHandle,
} from '../client/client.ts';
import type {
  ListOptions,
  ListResult,
  ResourceStore,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteOp,
} from '../store/types.ts';

export interface ApiStoreOptions {
  /** Delay before a broken watch reconnects (default 500 ms). */
  reconnectMs?: number;
  onWatchError?: (kind: string, error: Error) => void;
}

/** The store error an API error stands for (the controllers catch NotFound, Conflict, AlreadyExists, Expired). */
export function storeErrorOf(e: unknown): unknown {
  if (!(e instanceof ApiError)) return e;
  if (e.code === 404) return new NotFound(e.message);
  if (e.code === 409)
    return e.reason === 'AlreadyExists' ? new AlreadyExists(e.message) : new Conflict(e.message);
  if (e.code === 410) return new Expired(e.message);
  return e;
}

const targetOf = (ref: ObjectRef): { namespace?: string; name: string } =>
  kindInfo(ref.kind).namespaced
    ? { namespace: ref.namespace ?? 'default', name: ref.name }
    : { name: ref.name };

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

const rvOf = (o: KubeObject): number => Number(o.metadata.resourceVersion ?? '0');

/**
 * Differences from the database stores, all inherent to going through the API: `commit` of more than one write is not
 * atomic (it is refused); an update of a kind with a status subresource is two writes (object, then `/status`); kinds
 * the API serves read-only (AuditRecord, MacAllocation) cannot be written; `watch` reports Expired by relisting, not by
 * throwing (the API says so only once the stream is open).
 */
export class ApiStore implements ResourceStore {
  private readonly watches = new Set<{ stop(): void }>();
  private readonly reconnectMs: number;
  private readonly clients: HarrowClient[];
  private current = 0;

  /** Several clients: control-plane replicas; a request no replica answers moves on to the next one. */
  constructor(
    clients: HarrowClient | HarrowClient[],
    private readonly options: ApiStoreOptions = {},
  ) {
    this.clients = Array.isArray(clients) ? clients : [clients];
    if (this.clients.length === 0) throw new Error('ApiStore: at least one client');
    this.reconnectMs = options.reconnectMs ?? 500;
  }

  /** The replica in use. */
  get client(): HarrowClient {
    return this.clients[this.current] as HarrowClient;
  }

  private failover(): void {
    this.current = (this.current + 1) % this.clients.length;
  }

  /** Runs a request on the replica in use, on the next ones while none answers; errors become store errors. */
  private async call<T>(request: (c: HarrowClient) => Promise<T>): Promise<T> {
    for (let tried = 1; ; tried++) {
      try {
        return await request(this.client);
      } catch (e) {
        if (!(e instanceof TransportError) || tried >= this.clients.length) throw storeErrorOf(e);
        this.failover();
      }
    }
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return await this.call((c) => c.get(ref.kind, targetOf(ref)));
    } catch (e) {
      if (e instanceof NotFound) return undefined;
      throw e;
    }
  }

  async list(kind: string, options: ListOptions = {}): Promise<ListResult> {
    const base = { ...(options.namespace !== undefined ? { namespace: options.namespace } : {}) };
    if (!options.filter) {
      const page = await this.call((c) =>
        c.list(kind, {
          ...base,
          ...(options.limit !== undefined ? { limit: options.limit } : {}),
          ...(options.continue !== undefined ? { continue: options.continue } : {}),
        }),
      );
      return {
        items: page.items,
        resourceVersion: String(page.metadata.resourceVersion ?? '0'),
        ...(page.metadata.continue ? { continue: page.metadata.continue } : {}),
      };
    }
    // A filter cannot cross the API: page through and filter here (the filtered-out items do not count towards limit).
    const items: KubeObject[] = [];
    let token = options.continue;
    let resourceVersion: string | undefined;
    do {
      const page = await this.call((c) =>
        c.list(kind, { ...base, limit: 500, ...(token !== undefined ? { continue: token } : {}) }),
      );
      resourceVersion ??= String(page.metadata.resourceVersion ?? '0');
      for (const o of page.items) if (options.filter(o)) items.push(o);
      token = page.metadata.continue || undefined;
    } while (token !== undefined && (options.limit === undefined || items.length < options.limit));
    // Items past the limit on the last page are returned too: a filtered page may hold more than `limit`.
    return {
      items,
      resourceVersion: resourceVersion ?? '0',
      ...(token !== undefined ? { continue: token } : {}),
    };
  }

  async create(object: KubeObject): Promise<KubeObject> {
    const target = kindInfo(object.kind).namespaced
      ? { namespace: object.metadata.namespace ?? 'default' }
      : {};
    const created = await this.call((c) => c.create(object.kind, target, object));
    if (!hasStatusSubresource(object.kind) || object.status === undefined) return created;
    // The API drops a new object's status (it belongs to /status): write it as a second step.
    return this.call((c) =>
      c.replaceStatus(object.kind, targetOf(refOf(created)), { ...created, status: object.status }),
    );
  }

  async update(object: KubeObject): Promise<KubeObject> {
    const target = targetOf(refOf(object));
    const written = await this.call((c) => c.replace(object.kind, target, object));
    if (
      !hasStatusSubresource(object.kind) ||
      JSON.stringify(written.status) === JSON.stringify(object.status)
    )
      return written;
    // The main write kept the stored status; a no-op main write leaves the resourceVersion for /status's precondition.
    const rv =
      object.metadata.resourceVersion === undefined ? undefined : written.metadata.resourceVersion;
    const withStatus: KubeObject = {
      ...written,
      metadata: { ...written.metadata, resourceVersion: rv },
    };
    if (object.status === undefined) delete withStatus.status;
    else withStatus.status = object.status;
    return this.call((c) => c.replaceStatus(object.kind, target, withStatus));
  }

  async delete(ref: ObjectRef, resourceVersion?: string): Promise<KubeObject> {
    const before = await this.get(ref);
    if (!before)
      throw new NotFound(
        `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} not found`,
      );
    const answer = await this.call((c) =>
      c.delete(ref.kind, targetOf(ref), resourceVersion !== undefined ? { resourceVersion } : {}),
    );
    return answer.kind === ref.kind ? (answer as KubeObject) : before;
  }

  async commit(ops: WriteOp[]): Promise<KubeObject[]> {
    if (ops.length !== 1) {
      throw new Error(
        `the API store cannot write ${ops.length} objects atomically: only the control plane (on the database) commits batches`,
      );
    }
    const op = ops[0] as WriteOp;
    if (op.type === 'create') return [await this.create(op.object)];
    if (op.type === 'update') return [await this.update(op.object)];
    return [await this.delete(op.ref, op.resourceVersion)];
  }

  watch(kind: string, options: WatchOptions, listener: (event: WatchEvent) => void): WatchHandle {
    let stopped = false;
    let current: ClientWatchHandle | undefined;
    let timer: NodeJS.Timeout | undefined;
    let since = options.sinceResourceVersion;
    // Objects seen through this watch, so a relist after Expired can report the deletions it missed.
    const seen = new Map<string, KubeObject>();
    const ns = options.namespace !== undefined ? { namespace: options.namespace } : {};

    const deliver = (type: WatchEvent['type'], object: KubeObject): void => {
      if (type === 'DELETED') seen.delete(keyOf(object));
      else seen.set(keyOf(object), object);
      since = object.metadata.resourceVersion ?? since;
      listener({ type, object });
    };

    const relist = async (): Promise<void> => {
      const items = await this.call((c) => c.listAll(kind, ns));
      const list = await this.call((c) => c.list(kind, { ...ns, limit: 1 }));
      const present = new Set(items.map(keyOf));
      const after = Number(since ?? '0');
      for (const o of items)
        if (rvOf(o) > after) deliver(seen.has(keyOf(o)) ? 'MODIFIED' : 'ADDED', o);
      for (const [key, o] of [...seen]) {
        if (!present.has(key))
          deliver('DELETED', {
            ...o,
            metadata: { ...o.metadata, resourceVersion: list.metadata.resourceVersion },
          });
      }
      since = String(list.metadata.resourceVersion ?? since ?? '0');
    };

    const open = (): void => {
      if (stopped) return;
      let expired = false;
      current = this.client.watch(
        kind,
        { ...ns, ...(since !== undefined ? { resourceVersion: since } : {}) },
        (e) => {
          if (e.type === 'ERROR') {
            if (e.object.code === 410) expired = true;
            return;
          }
          if (e.type === 'BOOKMARK') {
            since = e.object.metadata.resourceVersion ?? since;
            return;
          }
          deliver(e.type, e.object);
        },
      );
      void current.done.then(async (end) => {
        if (stopped || end.reason === 'stopped') return;
        if (end.reason === 'error') {
          this.options.onWatchError?.(kind, end.error);
          if (end.error instanceof TransportError) this.failover();
        }
        if (expired) {
          try {
            await relist();
          } catch (err) {
            this.options.onWatchError?.(kind, err instanceof Error ? err : new Error(String(err)));
          }
        }
        timer = setTimeout(open, this.reconnectMs);
        timer.unref?.();
      });
    };
    // The first list of an informer gives `since`; without one, start from now (the contract: only new changes).
    if (since === undefined) {
      void this.currentResourceVersion().then(
        (rv) => {
          since = rv;
          open();
        },
        () => open(),
      );
    } else open();

    const handle = {
      stop: (): void => {
        stopped = true;
        if (timer) clearTimeout(timer);
        current?.stop();
        this.watches.delete(handle);
      },
    };
    this.watches.add(handle);
    return handle;
  }

  async currentResourceVersion(): Promise<string> {
    // Nodes: a kind every role reads (a node's token reads no Namespaces).
    const list = await this.call((c) => c.list('Node', { limit: 1 }));
    return String(list.metadata.resourceVersion ?? '0');
  }

  async close(): Promise<void> {
    for (const w of [...this.watches]) w.stop();
  }
}
