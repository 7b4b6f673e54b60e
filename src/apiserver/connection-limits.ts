// How long a client may hold the server's attention, and what a refused client's connection becomes: bounded header,
// body and request time (kube-apiserver's --request-timeout, 60 s), watches exempt; a refused body read off before the 413.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { HarrowError } from '../resources/errors.ts';
import { statusOf } from './status.ts';

export interface ConnectionLimits {
  /**
   * Bound on one request: receiving its headers and body (else 408 and the socket closed) and answering it (else 504
   * Timeout). Watches are long-running and exempt once their stream starts; `timeoutSeconds` ends them. Default 60.
   */
  requestTimeoutSeconds?: number;
  /** Bound on receiving a request's headers. Default 32 (kube-apiserver's ReadHeaderTimeout), at most the request bound. */
  headerTimeoutSeconds?: number;
  /**
   * A body over the size limit is read and thrown away up to this many bytes, so that a client that sends all of it
   * before reading gets its 413 Status rather than a reset. Default 16 MiB, or 4 × the body limit when larger.
   */
  discardBodyBytes?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 60;
export const DEFAULT_HEADER_TIMEOUT_SECONDS = 32;
const DEFAULT_DISCARD_BYTES = 16 * 1024 * 1024;

/** Node's http server options for the receive bounds (the Fastify options `requestTimeout` and `http`/`https` carry them). */
export function receiveTimeouts(limits: ConnectionLimits = {}): {
  requestTimeout: number;
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  const requestMs = (limits.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000;
  const headersMs = Math.min(
    requestMs,
    (limits.headerTimeoutSeconds ?? DEFAULT_HEADER_TIMEOUT_SECONDS) * 1000,
  );
  return {
    requestTimeout: requestMs,
    headersTimeout: headersMs,
    // Node checks the bounds on this period: a tenth of the shorter one keeps the cut-off within 10 % of it.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, headersMs / 10)),
  };
}

/** The client is told to hang up and the socket is closed after the answer (a refused client gets no second request). */
export function closeAfterReply(reply: FastifyReply): void {
  // HTTP/2 has no Connection header (Node drops it with a warning): there the stream ends with the reply, other
  // requests on the connection carry on.
  if (reply.request.raw.httpVersionMajor >= 2) return;
  void reply.header('connection', 'close');
}

/**
 * Answers 504 Timeout when a request's handler has not answered within the bound, as kube-apiserver does, and closes the
 * connection. A watch's stream has begun by then (its headers are sent) and is left alone; a route marked `longRunning`
 * (guest-exec) bounds its own time.
 */
export function registerRequestTimeout(app: FastifyInstance, limits: ConnectionLimits = {}): void {
  const ms = (limits.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000;
  const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.longRunning) return;
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent || reply.raw.destroyed) return;
      const status = statusOf(
        new HarrowError(
          'Timeout',
          504,
          `Timeout: request did not complete within the allowed duration (${ms / 1000}s)`,
        ),
      );
      closeAfterReply(reply);
      void reply.code(504).type('application/json').send(status);
    }, ms);
    timer.unref();
    timers.set(request, timer);
  });
  const clear = async (request: FastifyRequest): Promise<void> => {
    clearTimeout(timers.get(request));
  };
  app.addHook('onResponse', clear);
  app.addHook('onRequestAbort', clear);
}

/**
 * Reads and discards what remains of a refused request's body, up to `maxBytes`. True when the body ended within it
 * (the connection can then serve the next request), false when the client sent more (the connection is closed).
 */
export function discardBody(raw: IncomingMessage, maxBytes: number): Promise<boolean> {
  if (raw.complete || raw.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let seen = 0;
    const done = (ended: boolean): void => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('close', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > maxBytes) done(false);
    };
    const onEnd = (): void => done(true);
    const onClose = (): void => done(false);
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('close', onClose);
    raw.resume();
  });
}

export function discardLimit(limits: ConnectionLimits, bodyBytes: number): number {
  return limits.discardBodyBytes ?? Math.max(DEFAULT_DISCARD_BYTES, 4 * bodyBytes);
}
