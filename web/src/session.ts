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
const NAMESPACE_KEY = 'harrow.namespace';

export const storedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export const storeToken = (token: string | null): void =>
  token === null ? sessionStorage.removeItem(TOKEN_KEY) : sessionStorage.setItem(TOKEN_KEY, token);
export const storedNamespace = (): string => localStorage.getItem(NAMESPACE_KEY) ?? 'default';
export const storeNamespace = (ns: string): void => localStorage.setItem(NAMESPACE_KEY, ns);
