// What the tabs and the shared watch worker (watch-hub.ts) say to each other over a MessagePort.
import type { FeedUpdate } from './feed.ts';
import type { ConnectionPhase } from './connection.ts';

export type TabMessage =
  /** The tab holds the Web Lock `lock` while it lives: the worker forgets the tab when it can take it. */
  | { type: 'hello'; lock: string }
  | { type: 'subscribe'; id: number; token: string; path: string; pollMs?: number }
  | { type: 'unsubscribe'; id: number }
  /** The tab is going away (pagehide): its subscriptions end now rather than when its lock is released. */
  | { type: 'bye' };

export type HubMessage =
  | { type: 'update'; id: number; update: FeedUpdate }
  /** The worker's view of the server changed: its watches lost it, or reached it again. */
  | { type: 'connection'; phase: ConnectionPhase; reason?: string }
  /** The server refused the token of subscription `id` (401). */
  | { type: 'unauthorized'; id: number };
