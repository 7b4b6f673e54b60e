// Per-client limits at the API door: a token bucket of requests per token, and a cap on the watches a token holds open.
// Each refusal is a 429 TooManyRequests Status (with Retry-After for the rate).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HarrowError } from '../resources/errors.ts';
import { requestContext } from './request-context.ts';

export interface ClientLimits {
  /** Sustained requests per second per token. Default 500. */
  requestsPerSecond?: number;
  /** Requests a token may make at once beyond the sustained rate (bucket size). Default 1000. */
  burst?: number;
  /** Watches one token may hold open at a time. Default 100. */
  watchesPerClient?: number;
  /** AuditRecords of refused requests one client may cause per second (beyond: not recorded). Default 5. */
  refusalRecordsPerSecond?: number;
  /** Refusal records one client may cause at once beyond that rate. Default 50. */
  refusalRecordBurst?: number;
}

// Sized so that one admin token creating 500 VMs at once (the S5 scenario), a UI, kubectl and a few agents never meet
// them, while a runaway client is stopped well before it starves the others.
export const DEFAULT_REQUESTS_PER_SECOND = 500;
export const DEFAULT_BURST = 1000;
export const DEFAULT_WATCHES_PER_CLIENT = 100;
// A user refused by mistake leaves every attempt on record; one refused on purpose in a loop leaves a few a second.
export const DEFAULT_REFUSAL_RECORDS_PER_SECOND = 5;
export const DEFAULT_REFUSAL_RECORD_BURST = 50;
/** The largest page a list answers (a larger `limit` is lowered to it; the client follows `continue`). */
export const DEFAULT_MAX_LIST_LIMIT = 500;

/** Token buckets keyed by client: each holds up to `burst` requests and refills at `rate` per second. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(rate > 0) || !(burst >= 1))
      throw new Error(
        `rate limit: requests per second (${rate}) must be > 0 and burst (${burst}) >= 1`,
      );
  }

  /** Takes one request for `key`: 0 when allowed, else the seconds until one is available. */
  take(key: string): number {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      // A full bucket is the same as none: forget it, so idle clients cost no memory.
      if (b.tokens >= this.burst - 1 && this.buckets.size > 10_000) this.buckets.delete(key);
      return 0;
    }
    return (1 - b.tokens) / this.rate;
  }
}

const isWatch = (request: FastifyRequest): boolean => {
  const w = (request.query as { watch?: unknown } | undefined)?.watch;
  return w === '1' || w === 'true';
};

function tooMany(message: string, retryAfterSeconds?: number): HarrowError {
  return new HarrowError(
    'TooManyRequests',
    429,
    message,
    retryAfterSeconds !== undefined ? { retryAfterSeconds } : {},
  );
}

/**
 * Adds the limits as an onRequest hook; register it after authentication, since limits are per token (the token's id,
 * else the user's name).
 */
export function registerClientLimits(app: FastifyInstance, limits: ClientLimits = {}): void {
  const rate = limits.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND;
  const buckets = new TokenBuckets(rate, limits.burst ?? Math.max(DEFAULT_BURST, rate));
  const maxWatches = limits.watchesPerClient ?? DEFAULT_WATCHES_PER_CLIENT;
  const watching = new Map<string, number>();

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const user = requestContext(request).user;
    if (!user) return; // public routes (health, readiness)
    const client = user.uid ?? user.name;
    const wait = buckets.take(client);
    if (wait > 0) {
      const seconds = Math.max(1, Math.ceil(wait));
      throw tooMany(
        `client ${user.name} is over its rate limit of ${rate} requests per second: retry after ${seconds}s`,
        seconds,
      );
    }
    if (!isWatch(request)) return;
    const open = watching.get(client) ?? 0;
    if (open >= maxWatches) {
      throw tooMany(
        `client ${user.name} already holds ${open} open watches, the most one client may: close one before opening another`,
      );
    }
    watching.set(client, open + 1);
    // The watch's stream (or its error reply) ends with the response; count it down then.
    reply.raw.once('close', () => {
      const n = (watching.get(client) ?? 1) - 1;
      if (n <= 0) watching.delete(client);
      else watching.set(client, n);
    });
  });
}
