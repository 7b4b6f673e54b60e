// ?watch=1: a chunked stream of newline-delimited {"type","object"} events from the store, filtered by the request's selector.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Expired, HarrowError } from '../resources/errors.ts';
import { apiVersionOf, type KindInfo } from '../resources/kinds.ts';
import { keyOf, refOf, type KubeObject } from '../resources/meta.ts';
import type { ResourceStore, WatchEvent, WatchHandle } from '../store/types.ts';
import { selectorMatches, selectsEverything, type Selector } from './selectors.ts';
import { statusFromError } from './status.ts';
import { toTable, type TableOptions } from './tables.ts';

/** The open watches of a server, so that closing the server ends them instead of waiting for clients to hang up. */
export class WatchRegistry {
  private readonly open = new Set<() => void>();
  /** stop → the token id the watch was opened with, so revoking the token can end it. */
  private readonly owners = new Map<() => void, string>();
  add(stop: () => void, owner?: string): void {
    this.open.add(stop);
    if (owner !== undefined) this.owners.set(stop, owner);
  }
  delete(stop: () => void): void {
    this.open.delete(stop);
    this.owners.delete(stop);
  }
  /** Ends the watches opened with token `owner`. */
  closeOwnedBy(owner: string): void {
    for (const [stop, o] of [...this.owners]) if (o === owner) stop();
  }
  get size(): number {
    return this.open.size;
  }
  closeAll(): void {
    for (const stop of [...this.open]) stop();
  }
}

export interface WatchRequest {
  store: ResourceStore;
  info: KindInfo;
  namespace?: string;
  selector: Selector;
  /** Objects the user may see (roles.ts readFilter); the others are treated like objects the selector does not match. */
  visible?: (o: KubeObject) => boolean;
  /** The token id of the watcher (see WatchRegistry.closeOwnedBy). */
  owner?: string;
  /** Resume after this revision; absent or "0": the current objects first, as ADDED. */
  resourceVersion?: string;
  timeoutSeconds?: number;
  /** The watch-list protocol: the current objects as ADDED, then a BOOKMARK marking their end, whatever resourceVersion says. */
  sendInitialEvents?: boolean;
  /** Send each object as a one-row Table (kubectl get -w). */
  table?: TableOptions;
  registry: WatchRegistry;
}

/** Kubernetes closes a watch after a while so clients re-list now and then; ours do the same after 30 minutes by default. */
const DEFAULT_TIMEOUT_SECONDS = 1800;

export async function serveWatch(
  request: FastifyRequest,
  reply: FastifyReply,
  w: WatchRequest,
): Promise<FastifyReply> {
  const { store, info, selector } = w;
  const resume =
    !w.sendInitialEvents &&
    w.resourceVersion !== undefined &&
    w.resourceVersion !== '' &&
    w.resourceVersion !== '0';
  // The initial list is read before the response starts, so its errors still become a Status with the right code.
  const initial = resume
    ? undefined
    : await store.list(info.kind, w.namespace !== undefined ? { namespace: w.namespace } : {});

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  res.flushHeaders();

  let handle: WatchHandle | undefined;
  let closed = false;
  const stop = (): void => {
    if (closed) return;
    closed = true;
    handle?.stop();
    clearTimeout(timer);
    w.registry.delete(stop);
    res.end();
  };
  const timer = setTimeout(stop, (w.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000);
  w.registry.add(stop, w.owner);
  res.on('close', stop);

  let headersSent = false;
  const send = (type: string, object: unknown): void => {
    if (closed) return;
    let payload = object;
    if (w.table && type !== 'ERROR' && type !== 'BOOKMARK') {
      const o = object as KubeObject;
      payload = toTable(
        info,
        [o],
        { resourceVersion: o.metadata.resourceVersion ?? '' },
        { ...w.table, noHeaders: headersSent },
      );
      headersSent = true;
    }
    res.write(JSON.stringify({ type, object: payload }) + '\n');
  };

  // With a selector or a read filter, an object that stops matching leaves the client's view as DELETED and one that
  // starts matching enters it as ADDED. As Kubernetes' watch cache does, the DELETED carries the last object this watcher
  // was sent (at the event's resourceVersion), never the new one: that may be what the watcher is not allowed to see.
  const { visible } = w;
  const filtered = !selectsEverything(selector) || visible !== undefined;
  const matches = (o: KubeObject): boolean =>
    (visible === undefined || visible(o)) && selectorMatches(selector, o);
  const known = new Map<string, KubeObject>();
  const leave = (key: string, event: WatchEvent): void => {
    const last = known.get(key)!;
    known.delete(key);
    send('DELETED', {
      ...last,
      metadata: { ...last.metadata, resourceVersion: event.object.metadata.resourceVersion },
    });
  };
  const deliver = (event: WatchEvent): void => {
    if (!filtered) {
      // The store's own encoding of the object, as the list sends it: no second stringify per watcher.
      if (event.json !== undefined && !w.table && !closed)
        res.write(`{"type":${JSON.stringify(event.type)},"object":${event.json}}\n`);
      else send(event.type, event.object);
      return;
    }
    const key = keyOf(refOf(event.object));
    if (event.type === 'DELETED') {
      if (known.has(key)) {
        if (matches(event.object)) {
          known.delete(key);
          send('DELETED', event.object);
        } else leave(key, event);
      } else if (resume && matches(event.object)) send('DELETED', event.object);
      return;
    }
    if (matches(event.object)) {
      const type = event.type === 'MODIFIED' && (known.has(key) || resume) ? 'MODIFIED' : 'ADDED';
      known.set(key, event.object);
      send(type, event.object);
    } else if (known.has(key)) {
      leave(key, event);
    }
  };

  if (initial) {
    for (const object of initial.items as KubeObject[]) {
      if (filtered && !matches(object)) continue;
      if (filtered) known.set(keyOf(refOf(object)), object);
      send('ADDED', object);
    }
    if (w.sendInitialEvents) {
      send('BOOKMARK', {
        kind: info.kind,
        apiVersion: apiVersionOf(info),
        metadata: {
          resourceVersion: initial.resourceVersion,
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      });
    }
  }
  try {
    handle = store.watch(
      info.kind,
      {
        ...(w.namespace !== undefined ? { namespace: w.namespace } : {}),
        sinceResourceVersion: initial ? initial.resourceVersion : w.resourceVersion!,
        // The store lost this watch's place: 410 as an ERROR event, as Kubernetes does, so the client re-lists.
        onEnded: () => {
          send(
            'ERROR',
            statusFromError(
              new Expired('the watch was interrupted and its history compacted; list again'),
            ).status,
          );
          stop();
        },
      },
      deliver,
    );
  } catch (e) {
    // A resourceVersion compacted away (410 Expired) is told as an ERROR event, as Kubernetes does, so clients re-list.
    if (!(e instanceof HarrowError)) request.log.error({ err: e }, 'watch failed to start');
    send('ERROR', statusFromError(e).status);
    stop();
  }
  if (closed) handle?.stop();
  return reply;
}
