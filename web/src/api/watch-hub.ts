// The watches of all of a browser's tabs of this server, held once in a shared worker and fanned out to the tabs over
// MessagePorts: over HTTP/1.1 a browser keeps at most six connections per server and each open watch holds one, so
// tabs that each held their own would leave no connection for a click. The worker lives while any tab is open, so
// closing any tab, the first one too, leaves the others' watches running.
import { ApiClient } from './client.ts';
import { ConnectionMonitor, type ConnectionPhase } from './connection.ts';
import {
  applyUpdate,
  EMPTY_FEED,
  resetTo,
  runFeed,
  WatchSlots,
  type FeedState,
  type FeedUpdate,
} from './feed.ts';
import type { HubMessage, TabMessage } from './hub-protocol.ts';

/** Watch streams the worker holds at most, of the browser's six connections: two stay for requests and re-lists. */
export const HUB_WATCH_STREAMS = 4;
/** A feed no tab shows any more lingers this long, so a tab moving between pages that show it keeps its stream. */
const LINGER_MS = 3000;

interface Subscriber {
  port: MessagePort;
  id: number;
}

const post = (port: MessagePort, m: HubMessage): void => port.postMessage(m);

class SharedFeed {
  state: FeedState = EMPTY_FEED;
  readonly subscribers = new Set<Subscriber>();
  private readonly abort = new AbortController();
  private lingering: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly api: ApiClient,
    path: string,
    pollMs: number | undefined,
    slots: WatchSlots,
    private readonly onIdle: () => void,
  ) {
    void runFeed(api, path, (u) => this.apply(u), this.abort.signal, {
      ...(pollMs !== undefined ? { pollMs } : {}),
      slots,
    });
  }

  private apply(u: FeedUpdate): void {
    this.state = applyUpdate(this.state, u);
    for (const s of this.subscribers) post(s.port, { type: 'update', id: s.id, update: u });
  }

  add(s: Subscriber): void {
    this.subscribers.add(s);
    if (this.lingering !== undefined) clearTimeout(this.lingering);
    this.lingering = undefined;
    post(s.port, { type: 'update', id: s.id, update: resetTo(this.state) });
  }

  remove(s: Subscriber): void {
    this.subscribers.delete(s);
    if (this.subscribers.size > 0) return;
    if (this.lingering !== undefined) clearTimeout(this.lingering);
    this.lingering = setTimeout(() => {
      if (this.subscribers.size > 0) return;
      this.abort.abort();
      this.onIdle();
    }, LINGER_MS);
  }
}

interface WebLocks {
  request(name: string, callback: () => unknown): Promise<unknown>;
}

export class WatchHub {
  private readonly monitor = new ConnectionMonitor(async (signal) => {
    await fetch('/healthz', { signal, cache: 'no-store' });
  });
  private readonly slots = new WatchSlots(HUB_WATCH_STREAMS);
  private readonly feeds = new Map<string, SharedFeed>();
  private readonly clients = new Map<string, ApiClient>();
  /** Each tab's port → its subscriptions by the tab's id for them. */
  private readonly ports = new Map<
    MessagePort,
    Map<number, { feed: SharedFeed; sub: Subscriber }>
  >();
  private phase: ConnectionPhase = 'connected';

  constructor(private readonly locks: WebLocks | undefined) {
    // The tabs show the connection's state; what the worker's watches learn of it, they hear at once.
    this.monitor.subscribe(() => {
      const { phase, reason } = this.monitor.snapshot();
      if (phase === this.phase) return;
      this.phase = phase;
      const m: HubMessage = { type: 'connection', phase, ...(reason ? { reason } : {}) };
      for (const port of this.ports.keys()) post(port, m);
    });
  }

  connect(port: MessagePort): void {
    this.ports.set(port, new Map());
    port.onmessage = (e: MessageEvent<TabMessage>) => this.receive(port, e.data);
    // Where the browser tells of a port whose tab is gone (a crash), its subscriptions end too.
    port.addEventListener('close', () => this.drop(port));
    port.start();
  }

  private receive(port: MessagePort, m: TabMessage): void {
    const subs = this.ports.get(port);
    if (!subs) return;
    switch (m.type) {
      case 'hello':
        // Granted only once the tab has let go of it: when the tab closes, navigates away or crashes.
        void this.locks?.request(m.lock, () => this.drop(port));
        return;
      case 'subscribe': {
        const feed = this.feedFor(m.token, m.path, m.pollMs);
        const sub = { port, id: m.id };
        subs.set(m.id, { feed, sub });
        feed.add(sub);
        return;
      }
      case 'unsubscribe': {
        const s = subs.get(m.id);
        subs.delete(m.id);
        s?.feed.remove(s.sub);
        return;
      }
      case 'bye':
        this.drop(port);
        return;
    }
  }

  private drop(port: MessagePort): void {
    const subs = this.ports.get(port);
    if (!subs) return;
    this.ports.delete(port);
    for (const { feed, sub } of subs.values()) feed.remove(sub);
    port.close();
  }

  private clientFor(token: string): ApiClient {
    let api = this.clients.get(token);
    if (!api) {
      const unauthorized = (): void => {
        for (const feed of this.feeds.values())
          if (feed.api === api)
            for (const s of feed.subscribers) post(s.port, { type: 'unauthorized', id: s.id });
      };
      api = new ApiClient(token, unauthorized, this.monitor);
      this.clients.set(token, api);
    }
    return api;
  }

  private feedFor(token: string, path: string, pollMs: number | undefined): SharedFeed {
    const key = `${token} ${pollMs ?? 'watch'} ${path}`;
    let feed = this.feeds.get(key);
    if (!feed) {
      const api = this.clientFor(token);
      feed = new SharedFeed(api, path, pollMs, this.slots, () => {
        this.feeds.delete(key);
        if (![...this.feeds.values()].some((f) => f.api === api)) this.clients.delete(token);
      });
      this.feeds.set(key, feed);
    }
    return feed;
  }
}
