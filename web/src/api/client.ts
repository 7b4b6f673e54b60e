// The UI's only door to Harrow: the public Kubernetes-style REST API, with the operator's bearer token.
import type { KubeObject } from '../../../src/resources/meta.ts';
import type { ConnectionMonitor } from './connection.ts';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

/** A Kubernetes Status object, as every error response carries. */
export interface KubeStatus {
  kind: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: StatusCause[] };
}

export interface KubeList<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly causes: StatusCause[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The cause the server attached to one field path (exact match), if any. */
  causeFor(field: string): StatusCause | undefined {
    return this.causes.find((c) => c.field === field);
  }
}

const isStatus = (v: unknown): v is KubeStatus =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';

/** Turns an error body into an ApiError; a body that is no Status still yields a readable message. */
export function apiErrorOf(code: number, body: unknown, fallback: string): ApiError {
  if (isStatus(body)) {
    return new ApiError(
      body.code ?? code,
      body.reason ?? 'Unknown',
      body.message ?? fallback,
      body.details?.causes ?? [],
    );
  }
  return new ApiError(code, 'Unknown', fallback);
}

/** Appends query parameters to a path that may already carry some. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  if (entries.length === 0) return path;
  const qs = new URLSearchParams(entries).toString();
  return path + (path.includes('?') ? '&' : '?') + qs;
}

/**
 * The texts of a response's `Warning` headers (RFC 7234: `299 - "text"`, quotes and backslashes escaped), as
 * kube-apiserver sends them for an accepted request it has doubts about. Several headers arrive joined by ", ".
 */
export function warningsOf(header: string | null): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const m of header.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g))
    out.push((m[1] as string).replace(/\\(.)/g, '$1'));
  return out;
}

export type PatchType = 'merge' | 'json';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

export interface WriteOptions {
  dryRun?: boolean;
}

/** Any failure as an ApiError (a thrown non-ApiError is taken for the server being out of reach). */
export const asApiError = (err: unknown): ApiError =>
  err instanceof ApiError ? err : new ApiError(0, 'NetworkError', String(err));

/** What a request that never reached the server throws: no HTTP status, reason NetworkError. */
export const networkError = (e: unknown): ApiError =>
  new ApiError(
    0,
    'NetworkError',
    `cannot reach the server (${e instanceof Error ? e.message : String(e)})`,
  );

export class ApiClient {
  constructor(
    readonly token: string,
    /** Told when the server refuses the token (401). */
    readonly onUnauthorized: () => void = () => undefined,
    /** Told of every answer and every failure to reach the server (the shell shows its state). */
    readonly connection?: ConnectionMonitor,
  ) {}

  /** fetch, reporting to the connection monitor; a failure to reach the server becomes a NetworkError ApiError. */
  private async fetch(url: string, init: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (e) {
      if (init.signal?.aborted) throw e;
      this.connection?.reportFailure(e instanceof Error ? e.message : String(e));
      throw networkError(e);
    }
    this.connection?.reportContact();
    return res;
  }

  private headers(contentType?: string): Record<string, string> {
    const h: Record<string, string> = {
      Authorization: `Bearer ${this.token}`,
      Accept: 'application/json',
    };
    if (contentType) h['Content-Type'] = contentType;
    return h;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    return (await this.requestWithWarnings<T>(method, path, body, contentType)).body;
  }

  /** A request whose answer comes with the server's warnings (its `Warning` headers). */
  async requestWithWarnings<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ body: T; warnings: string[] }> {
    const res = await this.fetch(path, {
      method,
      headers: this.headers(body === undefined ? undefined : contentType),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!res.ok) {
      if (res.status === 401) this.onUnauthorized();
      throw apiErrorOf(res.status, parsed, `${method} ${path}: ${res.status} ${res.statusText}`);
    }
    return { body: parsed as T, warnings: warningsOf(res.headers.get('warning')) };
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  list<T>(path: string): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', path);
  }

  create<T extends KubeObject>(path: string, body: T, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>(
      'POST',
      withQuery(path, { dryRun: opts.dryRun ? 'All' : undefined }),
      body,
    );
  }

  patch<T>(path: string, body: unknown, type: PatchType, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>(
      'PATCH',
      withQuery(path, { dryRun: opts.dryRun ? 'All' : undefined }),
      body,
      PATCH_CONTENT_TYPE[type],
    );
  }

  /** A patch as `patch` does, with the server's warnings about it. */
  patchWithWarnings<T>(
    path: string,
    body: unknown,
    type: PatchType,
    opts: WriteOptions = {},
  ): Promise<{ body: T; warnings: string[] }> {
    return this.requestWithWarnings<T>(
      'PATCH',
      withQuery(path, { dryRun: opts.dryRun ? 'All' : undefined }),
      body,
      PATCH_CONTENT_TYPE[type],
    );
  }

  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, body ?? {});
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /**
   * Streams a watch (newline-delimited JSON events) from resourceVersion until the server closes it or the
   * signal aborts. Resolves on a clean end; rejects on an HTTP error or an ERROR event (e.g. 410 Expired).
   */
  async watch<T>(
    path: string,
    resourceVersion: string | undefined,
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const url = withQuery(path, { watch: '1', resourceVersion, allowWatchBookmarks: 'true' });
    const res = await this.fetch(url, { headers: this.headers(), signal });
    if (!res.ok || !res.body) {
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (res.status === 401) this.onUnauthorized();
      throw apiErrorOf(res.status, parsed, `watch ${path}: ${res.status}`);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (signal.aborted) throw e;
        this.connection?.reportFailure(e instanceof Error ? e.message : String(e));
        throw networkError(e);
      }
      const { value, done } = chunk;
      if (done) break;
      this.connection?.reportContact();
      buffer += value;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        if (line.length === 0) continue;
        const event = JSON.parse(line) as WatchEvent<T | KubeStatus>;
        if (event.type === 'ERROR') {
          const status = event.object as KubeStatus;
          throw apiErrorOf(status.code ?? 500, status, status.message ?? 'watch error');
        }
        onEvent(event as WatchEvent<T>);
      }
    }
  }
}
