// The one error hierarchy of Harrow: thrown by the domain, rendered into a Kubernetes Status in one place (apiserver).

export type StatusReason =
  | 'Invalid'
  | 'Conflict'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Unauthorized'
  | 'Forbidden'
  | 'BadRequest'
  | 'RequestEntityTooLarge'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'Expired'
  | 'TooManyRequests'
  | 'InsufficientStorage'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'InternalError';

/** One problem with one field: `field` is a path into the input, e.g. `spec.template.spec.domain.devices.interfaces[0].macAddress`. */
export interface StatusCause {
  reason: string; // Kubernetes cause type: FieldValueInvalid, FieldValueRequired, FieldValueDuplicate, FieldValueNotSupported, FieldValueForbidden
  message: string;
  field: string;
}

export interface ErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class HarrowError extends Error {
  constructor(
    readonly reason: StatusReason,
    readonly code: number,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = reason;
  }
}

export class Invalid extends HarrowError {
  constructor(message: string, causes: StatusCause[], details: ErrorDetails = {}) {
    super('Invalid', 422, message, { ...details, causes });
  }
}
export class Conflict extends HarrowError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('Conflict', 409, message, details);
  }
}
export class NotFound extends HarrowError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('NotFound', 404, message, details);
  }
}
export class AlreadyExists extends HarrowError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('AlreadyExists', 409, message, details);
  }
}
export class BadRequest extends HarrowError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('BadRequest', 400, message, details);
  }
}
export class Unauthorized extends HarrowError {
  constructor(message = 'Unauthorized') {
    super('Unauthorized', 401, message);
  }
}
export class Forbidden extends HarrowError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('Forbidden', 403, message, details);
  }
}
/** A watch or list asked for a resourceVersion that was compacted away (HTTP 410). */
export class Expired extends HarrowError {
  constructor(message: string) {
    super('Expired', 410, message);
  }
}
/** The MAC pool has no address left to hand out. */
export class PoolExhausted extends HarrowError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('InsufficientStorage', 507, message, details);
  }
}

export const fieldInvalid = (field: string, message: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message,
  field,
});
export const fieldRequired = (field: string, message: string): StatusCause => ({
  reason: 'FieldValueRequired',
  message,
  field,
});
export const fieldDuplicate = (field: string, message: string): StatusCause => ({
  reason: 'FieldValueDuplicate',
  message,
  field,
});
export const fieldNotSupported = (field: string, message: string): StatusCause => ({
  reason: 'FieldValueNotSupported',
  message,
  field,
});
