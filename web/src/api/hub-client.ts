// A tab's end of the shared watch worker (watch-hub.ts): subscriptions go out over one MessagePort, updates come back.
// Used over HTTP/1.1, where the tabs' watches must share the browser's six connections; over HTTP/2 every tab's
// requests already share one connection, and a browser without shared workers keeps its watches in the tab.
import type { ConnectionMonitor } from './connection.ts';
import type { FeedUpdate } from './feed.ts';
import type { HubMessage, TabMessage } from './hub-protocol.ts';

interface Subscription {
  onUpdate(u: FeedUpdate): void;
  onUnauthorized(): void;
  monitor: ConnectionMonitor | undefined;
}

interface WebLocks {
  request(name: string, callback: () => Promise<void>): Promise<unknown>;
}

export class HubClient {
  private readonly port: MessagePort;
  private readonly subscriptions = new Map<number, Subscription>();
  private nextId = 1;

  constructor(worker: SharedWorker, locks: WebLocks | undefined) {
    this.port = worker.port;
    this.port.onmessage = (e: MessageEvent<HubMessage>) => this.receive(e.data);
    this.port.start();
    if (locks) {
      // Held while the tab lives; the worker waits for it to tell that the tab is gone. Web Locks need a secure
      // context, which plain HTTP on loopback (the only place Harrow serves it) is; elsewhere pagehide's goodbye only.
      const lock = `harrow.tab.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`;
      void locks.request(lock, () => {
        this.send({ type: 'hello', lock });
        return new Promise<void>(() => undefined);
      });
    }
    addEventListener('pagehide', (e: PageTransitionEvent) => {
      if (!e.persisted) this.send({ type: 'bye' });
    });
  }

  /** Follows `path` for `token` through the worker; returns the unsubscribe. */
  subscribe(
    token: string,
    path: string,
    pollMs: number | undefined,
    subscription: Subscription,
  ): () => void {
    const id = this.nextId++;
    this.subscriptions.set(id, subscription);
    this.send({ type: 'subscribe', id, token, path, ...(pollMs !== undefined ? { pollMs } : {}) });
    return () => {
      this.subscriptions.delete(id);
      this.send({ type: 'unsubscribe', id });
    };
  }

  private send(m: TabMessage): void {
    this.port.postMessage(m);
  }

  private receive(m: HubMessage): void {
    switch (m.type) {
      case 'update':
        this.subscriptions.get(m.id)?.onUpdate(m.update);
        return;
      case 'unauthorized':
        this.subscriptions.get(m.id)?.onUnauthorized();
        return;
      case 'connection': {
        const monitors = new Set([...this.subscriptions.values()].map((s) => s.monitor));
        for (const monitor of monitors) {
          if (m.phase === 'connected') monitor?.reportContact();
          else monitor?.reportFailure(m.reason ?? 'the watches lost the server');
        }
        return;
      }
    }
  }
}

/** Whether this page reached the server over HTTP/1.x (plain HTTP always is; over TLS the browser may choose h2). */
export function overHttp1(): boolean {
  if (location.protocol === 'http:') return true;
  const nav = performance.getEntriesByType('navigation')[0] as
    { nextHopProtocol?: string } | undefined;
  return nav?.nextHopProtocol?.startsWith('http/1') ?? false;
}

let hub: HubClient | null | undefined;

/** The tab's connection to the shared watch worker, when watches go through one (HTTP/1.x and shared workers). */
export function sharedWatchHub(): HubClient | undefined {
  if (hub === undefined) {
    hub = null;
    if (typeof SharedWorker !== 'undefined' && overHttp1()) {
      try {
        const worker = new SharedWorker(new URL('./watch-hub.worker.ts', import.meta.url), {
          type: 'module',
          name: 'harrow-watches',
        });
        const locks = (navigator as unknown as { locks?: WebLocks }).locks;
        hub = new HubClient(worker, locks);
      } catch {
        hub = null; // a browser that refuses the worker (a policy): the tab keeps its own watches
      }
    }
  }
  return hub ?? undefined;
}
