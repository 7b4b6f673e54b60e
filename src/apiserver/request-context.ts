// Per-request facts the hooks, handlers and the error handler share: the authenticated user and what to audit.
import type { FastifyRequest } from 'fastify';
import { Unauthorized } from '../resources/errors.ts';
import type { UserInfo } from './admission/types.ts';

/** What a mutating request is about, known as early as the route (and refined by the handler once the body is read). */
export interface AuditTarget {
  verb: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface RequestContext {
  user?: UserInfo;
  audit?: AuditTarget;
  dryRun: boolean;
}

const contexts = new WeakMap<FastifyRequest, RequestContext>();

export function requestContext(request: FastifyRequest): RequestContext {
  let c = contexts.get(request);
  if (!c) {
    c = { dryRun: false };
    contexts.set(request, c);
  }
  return c;
}

/** The authenticated user of a request (every non-public route has one). */
export function requestUser(request: FastifyRequest): UserInfo {
  const user = contexts.get(request)?.user;
  if (!user) throw new Unauthorized();
  return user;
}
