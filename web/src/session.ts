// The signed-in session every page reads: the API client and the namespace chosen at the top.
import { createContext, useContext } from 'react';
import type { ApiClient } from './api/client.ts';

export interface Session {
  api: ApiClient;
  namespace: string;
  setNamespace(ns: string): void;
  /** Subresources the server lists in discovery under subresources.harrow.io/v1 (e.g. "virtualmachines/schedule-restart"). */
  harrowSubresources: ReadonlySet<string>;
  /** Announces a short message to screen readers and shows it as a toast. */
  notify(message: string, tone?: 'info' | 'error'): void;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in session');
  return s;
}

/** Namespaces rarely change: re-listed now and then rather than holding a watch connection open. */
export const NAMESPACE_POLL = { pollMs: 15_000 };

const TOKEN_KEY = 'harrow.token';
const CHANNEL = 'harrow.session';
const NAMESPACE_KEY = 'harrow.namespace';

export const storedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export const storeToken = (token: string | null): void =>
  token === null ? sessionStorage.removeItem(TOKEN_KEY) : sessionStorage.setItem(TOKEN_KEY, token);
export const storedNamespace = (): string => localStorage.getItem(NAMESPACE_KEY) ?? 'default';
export const storeNamespace = (ns: string): void => localStorage.setItem(NAMESPACE_KEY, ns);

type SessionMessage = { type: 'ask' } | { type: 'token'; token: string } | { type: 'sign-out' };

/**
 * One session across the browser's tabs of this server: a tab opened without a token asks the others over a
 * BroadcastChannel and a signed-in tab answers with its own, and signing out in one tab signs out all. The token stays
 * in each tab's sessionStorage, never in localStorage, so it still goes when the last tab closes.
 * Returns `announceSignOut` and a function that stops listening.
 */
export function shareSession(handlers: {
  current(): string | null;
  onToken(token: string): void;
  onSignOut(): void;
}): { announceSignOut(): void; close(): void } {
  if (typeof BroadcastChannel === 'undefined')
    return { announceSignOut: () => undefined, close: () => undefined };
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (e: MessageEvent<SessionMessage>) => {
    const m = e.data;
    const mine = handlers.current();
    if (m.type === 'ask' && mine !== null) channel.postMessage({ type: 'token', token: mine });
    else if (m.type === 'token' && mine === null && typeof m.token === 'string')
      handlers.onToken(m.token);
    else if (m.type === 'sign-out' && mine !== null) handlers.onSignOut();
  };
  if (handlers.current() === null) channel.postMessage({ type: 'ask' } satisfies SessionMessage);
  return {
    announceSignOut: () => channel.postMessage({ type: 'sign-out' } satisfies SessionMessage),
    close: () => channel.close(),
  };
}
