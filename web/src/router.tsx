// A small history router for the UI's few pages, all under /ui/ (the server falls back to index.html for them).
import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';

export const BASE = '/ui';

const listeners = new Set<() => void>();

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = to.startsWith(BASE) ? to : `${BASE}${to}`;
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
}

/** The current path below /ui (e.g. "/namespaces/default/vms/web-1/networks") and its query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = (): void => setTick((t) => t + 1);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  const raw = window.location.pathname.startsWith(BASE)
    ? window.location.pathname.slice(BASE.length)
    : '/';
  return { path: raw === '' ? '/' : raw, query: new URLSearchParams(window.location.search) };
}

/** Matches "/namespaces/:ns/vms/:name/:tab?" style patterns; returns the decoded parameters or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  let i = 0;
  for (; i < p.length; i++) {
    const part = p[i] as string;
    const optional = part.endsWith('?');
    const name = optional ? part.slice(1, -1) : part.slice(1);
    const seg = s[i];
    if (part.startsWith(':')) {
      if (seg === undefined) {
        if (optional) continue;
        return undefined;
      }
      params[name] = decodeURIComponent(seg);
    } else if (seg !== part) {
      return undefined;
    }
  }
  return s.length > p.length ? undefined : params;
}

/** An anchor that navigates inside the app (keyboard and middle-click behave as for any link). */
export function Link(props: {
  to: string;
  children: ReactNode;
  className?: string;
  title?: string;
  'aria-current'?: 'page' | undefined;
}): ReactNode {
  const href = `${BASE}${props.to}`;
  const onClick = (e: MouseEvent<HTMLAnchorElement>): void => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a
      href={href}
      onClick={onClick}
      className={props.className}
      title={props.title}
      aria-current={props['aria-current']}
    >
      {props.children}
    </a>
  );
}
