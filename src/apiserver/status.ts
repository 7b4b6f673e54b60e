// The one place errors become Kubernetes Status objects: HarrowErrors as they are, Fastify's own errors mapped, the rest 500.
import { HarrowError, type ErrorDetails, type StatusReason } from '../resources/errors.ts';

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: StatusReason;
  details?: ErrorDetails;
  code: number;
}

export function statusOf(error: HarrowError): Status {
  const details = compactDetails(error.details);
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: error.message,
    reason: error.reason,
    ...(details ? { details } : {}),
    code: error.code,
  };
}

function compactDetails(d: ErrorDetails): ErrorDetails | undefined {
  const out: ErrorDetails = {};
  if (d.name !== undefined) out.name = d.name;
  if (d.group !== undefined) out.group = d.group;
  if (d.kind !== undefined) out.kind = d.kind;
  if (d.causes !== undefined && d.causes.length > 0) out.causes = d.causes;
  if (d.retryAfterSeconds !== undefined) out.retryAfterSeconds = d.retryAfterSeconds;
  return Object.keys(out).length > 0 ? out : undefined;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: unknown;
  validationContext?: string;
}

/** Errors Fastify raises itself (parsing, limits, routing), keyed by its error code. */
const FASTIFY_ERRORS: Record<string, (e: FastifyLikeError) => HarrowError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new HarrowError(
      'RequestEntityTooLarge',
      413,
      'the request body is larger than the server accepts',
    ),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new HarrowError(
      'UnsupportedMediaType',
      415,
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml; for PATCH application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json (kubectl commands that send protobuf, such as `kubectl create namespace`, can use `kubectl create -f` or `kubectl apply -f` instead)',
    ),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new HarrowError('BadRequest', 400, 'the request body does not match its Content-Length'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new HarrowError('BadRequest', 400, 'the request body is empty but Content-Type says JSON'),
  FST_ERR_CTP_INVALID_JSON_BODY: (e) =>
    new HarrowError('BadRequest', 400, `the request body is not valid JSON: ${e.message ?? ''}`),
  FST_ERR_BAD_URL: () => new HarrowError('BadRequest', 400, 'the request URL is malformed'),
};

/** Maps any error a route or Fastify produced; `internal` says it was unexpected (worth logging as an error). */
export function statusFromError(error: unknown): { status: Status; internal: boolean } {
  if (error instanceof HarrowError) return { status: statusOf(error), internal: false };
  const e = (typeof error === 'object' && error !== null ? error : {}) as FastifyLikeError;
  if (e.validation !== undefined) {
    const where = e.validationContext ?? 'request';
    return {
      status: statusOf(
        new HarrowError('BadRequest', 400, `invalid ${where}: ${e.message ?? 'validation failed'}`),
      ),
      internal: false,
    };
  }
  const mapped = e.code !== undefined ? FASTIFY_ERRORS[e.code] : undefined;
  if (mapped) return { status: statusOf(mapped(e)), internal: false };
  if (error instanceof SyntaxError) {
    return {
      status: statusOf(
        new HarrowError('BadRequest', 400, `the request body is not valid JSON: ${error.message}`),
      ),
      internal: false,
    };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      status: statusOf(
        new HarrowError(reasonForCode(e.statusCode), e.statusCode, e.message ?? 'bad request'),
      ),
      internal: false,
    };
  }
  return {
    status: statusOf(
      new HarrowError(
        'InternalError',
        500,
        `Internal error occurred: ${e.message ?? String(error)}`,
      ),
    ),
    internal: true,
  };
}

function reasonForCode(code: number): StatusReason {
  switch (code) {
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 406:
      return 'NotAcceptable';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 413:
      return 'RequestEntityTooLarge';
    case 415:
      return 'UnsupportedMediaType';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    default:
      return 'BadRequest';
  }
}
