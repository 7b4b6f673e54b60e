// HarrowClient: a typed client of Harrow's Kubernetes-style REST API (DESIGN §4).
import type { KubeObject } from '../resources/meta.ts';
import { kindInfo } from '../resources/kinds.ts';
import { CONSOLE_SUBPROTOCOL } from '../resources/types.ts';
import type { WebSocket } from 'ws';
import { ApiError, TransportError, isKubeStatus, type KubeStatus } from './errors.ts';
import { loadKubeconfig } from './kubeconfig.ts';
import {
  queryString,
  resourcePath,
  vmiGuestExecPath,
  vmiInterfaceListPath,
  vmMaintenancePath,
  vmRemedyPath,
  vmSubresourcePath,
  podLogPath,
  vmiConsolePath,
} from './paths.ts';
import { HttpAnswer, Transport } from './transport.ts';
import { LineSplitter, parseWatchLine, type WatchEvent } from './watch-stream.ts';
import { parseWarningHeader } from './warnings.ts';

export { ApiError, TransportError, type KubeStatus } from './errors.ts';
export type { WatchEvent } from './watch-stream.ts';

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  server: string;
  /** Bearer token; omitted → requests are anonymous (only /healthz and /readyz answer). */
  token?: string;
  /** Called with each admission warning the server sends (HTTP `Warning` header). */
  onWarning?: (message: string) => void;
  /** Default namespace for callers that want one (the kubeconfig context's); the client itself never guesses. */
  namespace?: string;
  /** Timeout of each non-watch request (default 60 s). */
  requestTimeoutMs?: number;
  userAgent?: string;
  /** PEM CA certificate(s) to trust, alone, for an https server (the kubeconfig's certificate-authority-data). */
  ca?: string;
}

export interface WriteOptions {
  /** `?dryRun=All`: admission runs, nothing is stored. */
  dryRun?: boolean;
  /** `?fieldValidation=`: what the server does with fields the kind's schema does not know (kubectl sends Strict). */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export interface ListOptions {
  /** Omitted for a namespaced kind → all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; [f: string]: unknown };
  items: T[];
}

/** The meta.k8s.io Table a server prints a kind as (what `kubectl get` shows). */
export interface ServerTable {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: Array<{
    name: string;
    type: string;
    format?: string;
    description?: string;
    /** 0: always shown; more: only with `-o wide`. */
    priority: number;
  }>;
  rows: Array<{ cells: unknown[]; object?: KubeObject }>;
}

/** The Accept header kubectl get sends: a Table (v1, then v1beta1), else the plain objects. */
export const TABLE_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

export interface DeleteOptions extends WriteOptions {
  /** Precondition: delete only this version (409 Conflict otherwise). */
  resourceVersion?: string;
}

export interface WatchOptions {
  namespace?: string;
  /** Deliver every change after this version first; omitted → only new changes. */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export type WatchEnd =
  { reason: 'stopped' } | { reason: 'closed' } | { reason: 'error'; error: Error };

export interface WatchHandle {
  stop(): void;
  /** Settles when the stream ends; never rejects (an error is reported as `{reason: 'error'}`). */
  done: Promise<WatchEnd>;
}

/** One guest interface as the guest agent reports it (KubeVirt's VirtualMachineInstanceGuestOSInterface). */
export interface GuestInterface {
  interfaceName?: string;
  mac?: string;
  ipAddress?: string;
  ipAddresses?: string[];
  [field: string]: unknown;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  contentType?: string;
  /** Default: application/json. */
  accept?: string;
  signal?: AbortSignal;
  timeoutMs?: number | null;
  auth?: boolean;
}

export class HarrowClient {
  readonly server: string;
  readonly namespace: string | undefined;
  private readonly token: string | undefined;
  private readonly onWarning: ((message: string) => void) | undefined;
  private readonly requestTimeoutMs: number;
  private readonly userAgent: string;
  private readonly transport: Transport;
  private readonly ca: string | undefined;

  constructor(options: ClientOptions) {
    let url: URL;
    try {
      url = new URL(options.server);
    } catch {
      throw new Error(
        `server ${JSON.stringify(options.server)}: not a URL (expected e.g. http://127.0.0.1:8080)`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`server ${options.server}: only http:// and https:// are supported`);
    }
    this.server = options.server.replace(/\/+$/, '');
    this.token = options.token;
    this.namespace = options.namespace;
    this.onWarning = options.onWarning;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.userAgent = options.userAgent ?? 'harrow-client';
    this.ca = options.ca;
    this.transport = new Transport(url.protocol === 'https:', options.ca);
  }

  /** Closes the connections kept open for the next request (a long-lived process done with this client). */
  close(): void {
    this.transport.close();
  }

  /**
   * A client from a kubeconfig: `path`, else `$HARROW_KUBECONFIG`, else `./.harrow/kubeconfig`, else `~/.harrow/kubeconfig`.
   * `overrides` win over the file (e.g. a `--server` flag).
   */
  static fromKubeconfig(path?: string, overrides: Partial<ClientOptions> = {}): HarrowClient {
    const creds = loadKubeconfig(path);
    return new HarrowClient({
      server: creds.server,
      ...(creds.token !== undefined ? { token: creds.token } : {}),
      ...(creds.namespace !== undefined ? { namespace: creds.namespace } : {}),
      ...(creds.ca !== undefined ? { ca: creds.ca } : {}),
      ...overrides,
    });
  }

  // --- objects -----------------------------------------------------------------------------------------------

  async get<T extends KubeObject = KubeObject>(
    kind: string,
    target: { namespace?: string; name: string },
  ): Promise<T> {
    return this.json<T>({ method: 'GET', path: resourcePath(kind, target) });
  }

  async list<T extends KubeObject = KubeObject>(
    kind: string,
    options: ListOptions = {},
  ): Promise<ObjectList<T>> {
    const q = queryString({
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      limit: options.limit,
      continue: options.continue,
      resourceVersion: options.resourceVersion,
    });
    const list = await this.json<ObjectList<T>>({
      method: 'GET',
      path:
        resourcePath(
          kind,
          options.namespace === undefined ? {} : { namespace: options.namespace },
        ) + q,
    });
    if (!Array.isArray(list.items)) list.items = [];
    if (typeof list.metadata !== 'object' || list.metadata === null) list.metadata = {};
    return list;
  }

  /** Every item, following `continue` tokens page by page. */
  async listAll<T extends KubeObject = KubeObject>(
    kind: string,
    options: Omit<ListOptions, 'continue'> = {},
  ): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined;
    do {
      const page: ObjectList<T> = await this.list<T>(kind, {
        ...options,
        ...(next !== undefined ? { continue: next } : {}),
      });
      items.push(...page.items);
      next = page.metadata.continue || undefined;
    } while (next !== undefined);
    return items;
  }

  /**
   * The server's Table of one object (`name`) or of every match, following `continue` tokens; `includeObject` asks for
   * the whole objects in the rows (default: their metadata).
   */
  async table(
    kind: string,
    options: Omit<ListOptions, 'continue' | 'limit'> & {
      name?: string;
      includeObject?: 'None' | 'Metadata' | 'Object';
    } = {},
  ): Promise<ServerTable> {
    const scope = options.namespace === undefined ? {} : { namespace: options.namespace };
    let merged: ServerTable | undefined;
    let next: string | undefined;
    do {
      const q = queryString({
        labelSelector: options.name === undefined ? options.labelSelector : undefined,
        fieldSelector: options.name === undefined ? options.fieldSelector : undefined,
        includeObject: options.includeObject,
        continue: next,
      });
      const path =
        (options.name === undefined
          ? resourcePath(kind, scope)
          : resourcePath(kind, { ...scope, name: options.name })) + q;
      const page = await this.json<ServerTable>({ method: 'GET', path, accept: TABLE_ACCEPT });
      if (page.kind !== 'Table' || !Array.isArray(page.rows)) {
        throw new Error(`GET ${path}: the server did not answer with a Table`);
      }
      if (merged === undefined)
        merged = { ...page, columnDefinitions: page.columnDefinitions ?? [] };
      else merged.rows.push(...page.rows);
      next = page.metadata?.continue || undefined;
    } while (next !== undefined);
    return merged;
  }

  /** POST; the namespace is `target.namespace`, else the object's own `metadata.namespace`. */
  async create<T extends KubeObject = KubeObject>(
    kind: string,
    target: { namespace?: string },
    object: KubeObject,
    options: WriteOptions = {},
  ): Promise<T> {
    const namespace = target.namespace ?? object.metadata?.namespace;
    if (kindInfo(kind).namespaced && (namespace === undefined || namespace === '')) {
      throw new Error(`create ${kind}: a namespace is required`);
    }
    return this.json<T>({
      method: 'POST',
      path: resourcePath(kind, namespace === undefined ? {} : { namespace }) + writeQuery(options),
      body: object,
      contentType: 'application/json',
    });
  }

  /** PUT; the server checks `metadata.resourceVersion` when the object carries one (409 Conflict when stale). */
  async replace<T extends KubeObject = KubeObject>(
    kind: string,
    target: { namespace?: string; name: string },
    object: KubeObject,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.json<T>({
      method: 'PUT',
      path: resourcePath(kind, target) + writeQuery(options),
      body: object,
      contentType: 'application/json',
    });
  }

  /** PUT …/status: writes only the status (kinds with a status subresource keep it out of the main resource). */
  async replaceStatus<T extends KubeObject = KubeObject>(
    kind: string,
    target: { namespace?: string; name: string },
    object: KubeObject,
  ): Promise<T> {
    return this.json<T>({
      method: 'PUT',
      path: `${resourcePath(kind, target)}/status`,
      body: object,
      contentType: 'application/json',
    });
  }

  async mergePatch<T extends KubeObject = KubeObject>(
    kind: string,
    target: { namespace?: string; name: string },
    patch: Record<string, unknown>,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.json<T>({
      method: 'PATCH',
      path: resourcePath(kind, target) + writeQuery(options),
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  async jsonPatch<T extends KubeObject = KubeObject>(
    kind: string,
    target: { namespace?: string; name: string },
    ops: JsonPatchOp[],
    options: WriteOptions = {},
  ): Promise<T> {
    return this.json<T>({
      method: 'PATCH',
      path: resourcePath(kind, target) + writeQuery(options),
      body: ops,
      contentType: 'application/json-patch+json',
    });
  }

  /** DELETE; resolves to the deleted object, or the server's success Status. */
  async delete(
    kind: string,
    target: { namespace?: string; name: string },
    options: DeleteOptions = {},
  ): Promise<KubeObject | KubeStatus> {
    const body =
      options.resourceVersion !== undefined
        ? {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            preconditions: { resourceVersion: options.resourceVersion },
          }
        : undefined;
    return this.json<KubeObject | KubeStatus>({
      method: 'DELETE',
      path: resourcePath(kind, target) + writeQuery(options),
      ...(body ? { body, contentType: 'application/json' } : {}),
    });
  }

  /**
   * Streams changes of a kind (`?watch=1`): `onEvent` gets each event in order. An `ERROR` event (e.g. 410 Expired)
   * is delivered too, then the stream ends. Stop with `stop()`; `done` tells how it ended.
   */
  watch<T extends KubeObject = KubeObject>(
    kind: string,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): WatchHandle {
    const abort = new AbortController();
    const path =
      resourcePath(kind, options.namespace === undefined ? {} : { namespace: options.namespace }) +
      queryString({
        watch: 1,
        resourceVersion: options.resourceVersion,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
      });
    const done = (async (): Promise<WatchEnd> => {
      try {
        const response = await this.send({
          method: 'GET',
          path,
          signal: abort.signal,
          timeoutMs: null,
        });
        const lines = new LineSplitter();
        const deliver = (batch: string[]): boolean => {
          for (const line of batch) {
            const event = parseWatchLine<T>(line);
            onEvent(event);
            if (event.type === 'ERROR') return false;
          }
          return true;
        };
        for await (const chunk of response.chunks()) {
          if (!deliver(lines.push(chunk))) {
            abort.abort();
            return { reason: 'closed' };
          }
        }
        deliver(lines.flush());
        return { reason: 'closed' };
      } catch (e) {
        if (abort.signal.aborted) return { reason: 'stopped' };
        return { reason: 'error', error: e instanceof Error ? e : new Error(String(e)) };
      }
    })();
    return { stop: () => abort.abort(), done };
  }

  // --- KubeVirt and Harrow subresources -----------------------------------------------------------------------

  async start(namespace: string, vm: string): Promise<void> {
    await this.vmAction(namespace, vm, 'start');
  }

  async stop(namespace: string, vm: string): Promise<void> {
    await this.vmAction(namespace, vm, 'stop');
  }

  async restart(namespace: string, vm: string): Promise<void> {
    await this.vmAction(namespace, vm, 'restart');
  }

  /** Harrow's drift remedy: restart so the guest gets the platform MACs again; resolves to the server's message. */
  async restoreMac(namespace: string, vm: string, options: WriteOptions = {}): Promise<string> {
    const status = await this.json<KubeStatus>({
      method: 'PUT',
      path: vmRemedyPath(namespace, vm, 'restore-mac'),
      body: options.dryRun ? { dryRun: ['All'] } : {},
      contentType: 'application/json',
    });
    return status.message ?? '';
  }

  /** Harrow's drift remedy: the guest's MACs (every drifted interface, or those named) into the manifest; the VM after. */
  async adoptGuestMac<T extends KubeObject = KubeObject>(
    namespace: string,
    vm: string,
    options: WriteOptions & { interfaces?: string[] } = {},
  ): Promise<T> {
    return this.json<T>({
      method: 'PUT',
      path: vmRemedyPath(namespace, vm, 'adopt-guest-mac'),
      body: {
        ...(options.interfaces && options.interfaces.length > 0
          ? { interfaces: options.interfaces }
          : {}),
        ...(options.dryRun ? { dryRun: ['All'] } : {}),
      },
      contentType: 'application/json',
    });
  }

  /** Plans a restart into the VM's maintenance window, or (`cancel-restart`) drops the plan; the VM after. */
  async maintenanceRestart<T extends KubeObject = KubeObject>(
    namespace: string,
    vm: string,
    action: 'schedule-restart' | 'cancel-restart',
  ): Promise<T> {
    return this.json<T>({
      method: 'PUT',
      path: vmMaintenancePath(namespace, vm, action),
      body: {},
      contentType: 'application/json',
    });
  }

  /** What the guest agent reports for a running VMI (KubeVirt `interfacelist`). */
  async interfaceList(namespace: string, vmi: string): Promise<GuestInterface[]> {
    const list = await this.json<{ items?: GuestInterface[] }>({
      method: 'GET',
      path: vmiInterfaceListPath(namespace, vmi),
    });
    return Array.isArray(list.items) ? list.items : [];
  }

  /** Runs argv in the guest through its agent; a non-zero exit code is a result, not an error. */
  /**
   * Opens the VMI's serial console (KubeVirt's console subresource, subprotocol plain.kubevirt.io). Resolves once the
   * server accepted; a refusal is an ApiError with the server's Status.
   */
  async openConsole(namespace: string, vmi: string): Promise<WebSocket> {
    const url = this.server.replace(/^http/, 'ws') + vmiConsolePath(namespace, vmi);
    // Only the console needs ws: loaded here so that every other command starts without it.
    const { WebSocket } = await import('ws');
    const socket = new WebSocket(url, [CONSOLE_SUBPROTOCOL], {
      headers: {
        'user-agent': this.userAgent,
        ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}),
      },
      ...(this.ca ? { ca: this.ca } : {}),
      handshakeTimeout: this.requestTimeoutMs,
    });
    return new Promise<WebSocket>((resolve, reject) => {
      socket.once('open', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const answer = {
            status: response.statusCode ?? 500,
            statusText: response.statusMessage ?? '',
            text: () => Promise.resolve(Buffer.concat(chunks).toString('utf8')),
          };
          void ApiError.fromResponse(answer).then(reject, reject);
        });
        response.on('error', reject);
      });
      socket.once('error', (e) =>
        reject(new TransportError(`cannot reach ${this.server}: ${e.message}`, this.server, e)),
      );
    });
  }

  /** A pod's log as text (`container`, `tailLines`, `limitBytes` as in Kubernetes). */
  async podLog(
    namespace: string,
    pod: string,
    options: { container?: string; tailLines?: number; limitBytes?: number } = {},
  ): Promise<string> {
    const response = await this.send({
      method: 'GET',
      path: podLogPath(namespace, pod) + queryString(options),
    });
    return this.bodyOf({ method: 'GET', path: podLogPath(namespace, pod) }, response);
  }

  async guestExec(
    namespace: string,
    vmi: string,
    argv: string[],
    options: { timeoutSeconds?: number } = {},
  ): Promise<ExecResult> {
    const result = await this.json<Partial<ExecResult>>({
      method: 'POST',
      path: vmiGuestExecPath(namespace, vmi),
      body: {
        command: argv,
        ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}),
      },
      contentType: 'application/json',
      timeoutMs: ((options.timeoutSeconds ?? 300) + 30) * 1000,
    });
    if (typeof result.exitCode !== 'number')
      throw new Error(`guest-exec: the server's answer has no exitCode`);
    return { exitCode: result.exitCode, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  }

  /** GET /readyz: true when the server answers 200; false when it answers otherwise or not at all. */
  async ready(): Promise<boolean> {
    try {
      const response = await this.send({
        method: 'GET',
        path: '/readyz',
        auth: false,
        timeoutMs: 5000,
      });
      response.discard();
      return true;
    } catch {
      return false;
    }
  }

  // --- plumbing ------------------------------------------------------------------------------------------------

  private async vmAction(
    namespace: string,
    vm: string,
    action: 'start' | 'stop' | 'restart',
  ): Promise<void> {
    const response = await this.send({
      method: 'PUT',
      path: vmSubresourcePath(namespace, vm, action),
      body: {},
      contentType: 'application/json',
    });
    response.discard();
  }

  private async json<T>(spec: RequestSpec): Promise<T> {
    const response = await this.send(spec);
    const text = await this.bodyOf(spec, response);
    if (text === '')
      return { apiVersion: 'v1', kind: 'Status', status: 'Success', code: response.status } as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(
        `${spec.method} ${spec.path}: the server's answer is not JSON: ${text.slice(0, 200)}`,
      );
    }
  }

  /**
   * Sends a request; throws ApiError for a non-2xx answer, TransportError when there is no answer. A 429 (the server's
   * rate or watch limit) is sent again after its Retry-After, a few times, as client-go does: the server refused it
   * before acting on it, so sending it again is safe for every verb.
   */
  private async send(spec: RequestSpec): Promise<HttpAnswer> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sendOnce(spec);
      } catch (e) {
        if (
          !(e instanceof ApiError) ||
          e.code !== 429 ||
          attempt >= MAX_429_ATTEMPTS ||
          spec.signal?.aborted
        )
          throw e;
        const seconds = Number(e.status.details?.retryAfterSeconds ?? 1);
        await new Promise((r) =>
          setTimeout(r, Math.min(Math.max(seconds, 0.1), 10) * 1000 * (0.5 + Math.random())),
        );
      }
    }
  }

  private async sendOnce(spec: RequestSpec): Promise<HttpAnswer> {
    const headers: Record<string, string> = {
      accept: spec.accept ?? 'application/json',
      'user-agent': this.userAgent,
    };
    if (spec.auth !== false && this.token !== undefined)
      headers.authorization = `Bearer ${this.token}`;
    if (spec.contentType !== undefined) headers['content-type'] = spec.contentType;
    const timeoutMs = spec.timeoutMs === undefined ? this.requestTimeoutMs : spec.timeoutMs;
    const signals = [
      spec.signal,
      timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs),
    ].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    let response: HttpAnswer;
    try {
      response = await this.transport.send({
        method: spec.method,
        url: new URL(this.server + spec.path),
        headers,
        ...(spec.body !== undefined ? { body: JSON.stringify(spec.body) } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (spec.signal?.aborted) throw e;
      throw new TransportError(
        `cannot reach ${this.server}: ${describeFailure(e, signal)}`,
        this.server,
        e,
      );
    }
    for (const w of parseWarningHeader(response.header('warning'))) this.onWarning?.(w);
    if (!response.ok) throw await ApiError.fromResponse(response);
    return response;
  }

  /** The whole body as text; an answer cut off (its time ran out, the server went away) is a TransportError. */
  private async bodyOf(
    spec: Pick<RequestSpec, 'method' | 'path'>,
    response: HttpAnswer,
  ): Promise<string> {
    try {
      return await response.text();
    } catch (e) {
      throw new TransportError(
        `${spec.method} ${spec.path}: the answer from ${this.server} was cut off: ${describeFailure(e)}`,
        this.server,
        e,
      );
    }
  }
}

const MAX_429_ATTEMPTS = 5;

const writeQuery = (options: WriteOptions): string =>
  queryString({
    dryRun: options.dryRun ? 'All' : undefined,
    fieldValidation: options.fieldValidation,
  });

function describeFailure(e: unknown, signal?: AbortSignal): string {
  if (signal?.aborted || (e instanceof Error && e.name === 'TimeoutError'))
    return 'no answer in time';
  const error = e as { code?: string; message?: string; cause?: { code?: string } } | undefined;
  const code = error?.code ?? error?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (is `harrow serve` running?)';
  if (code && code !== 'ABORT_ERR') return error?.message ? `${code}: ${error.message}` : code;
  return e instanceof Error ? e.message : String(e);
}

/** True when a delete answered with a Status rather than the object. */
export const isStatus = isKubeStatus;
