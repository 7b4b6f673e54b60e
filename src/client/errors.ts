// Errors the REST client throws: ApiError carries the server's Kubernetes Status; TransportError means no answer at all.
import type { StatusCause } from '../resources/errors.ts';

/** A Kubernetes `Status` object as the apiserver returns it for errors (and for some deletes). */
export interface KubeStatus {
  apiVersion: 'v1';
  kind: 'Status';
  status: 'Success' | 'Failure';
  code: number;
  reason?: string;
  message?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  metadata?: Record<string, unknown>;
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  503: 'ServiceUnavailable',
  507: 'InsufficientStorage',
};

export const isKubeStatus = (v: unknown): v is KubeStatus =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';

/** The server answered with an error; `status` is its Status object (synthesised when the body was not one). */
export class ApiError extends Error {
  readonly status: KubeStatus;

  constructor(status: KubeStatus) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'ApiError';
    this.status = status;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): string {
    return this.status.reason ?? REASON_BY_CODE[this.status.code] ?? 'Unknown';
  }

  /** One entry per offending field (empty when the server named none). */
  get causes(): StatusCause[] {
    return this.status.details?.causes ?? [];
  }

  /** Reads an error response: a Status body is taken as is, anything else becomes one. */
  static async fromResponse(response: {
    status: number;
    statusText: string;
    text(): Promise<string>;
  }): Promise<ApiError> {
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (isKubeStatus(body)) {
      return new ApiError({
        ...body,
        code: typeof body.code === 'number' ? body.code : response.status,
      });
    }
    const message =
      typeof body === 'object' &&
      body !== null &&
      typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : text.trim() || response.statusText || `HTTP ${response.status}`;
    return new ApiError({
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      code: response.status,
      reason:
        REASON_BY_CODE[response.status] ?? (response.status >= 500 ? 'InternalError' : 'Unknown'),
      message,
    });
  }
}

/** The request never got an HTTP answer (connection refused, DNS, TLS, aborted by timeout). */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly server: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
