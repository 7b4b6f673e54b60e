// The Kubernetes-compatible API server: Fastify with Harrow's parsers, auth, audit-on-failure, Status errors and all routes.
import type { Registry } from 'prom-client';
import { registerRequestMetrics } from './request-metrics.ts';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyHttp2SecureOptions,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Http2SecureServer } from 'node:http2';
import { parse as parseYaml } from 'yaml';
import { auditRecord } from '../audit/record.ts';
import {
  AlreadyExists,
  BadRequest,
  Forbidden,
  HarrowError,
  NotFound,
  Unauthorized,
} from '../resources/errors.ts';
import { validateDns1123Label, validateDns1123Subdomain } from '../resources/names.ts';
import type { Runtime } from '../runtime/types.ts';
import type { ResourceStore, WatchHandle } from '../store/types.ts';
import type { AdmissionPlugin } from './admission/types.ts';
import { registerAccessReviews } from './access-review.ts';
import { checkBodyDepth } from './body-depth.ts';
import { allowAll, type Authenticator, type Authorize, type ReadFilter } from './auth.ts';
import { registerDiscovery } from './discovery.ts';
import { registerMaintenanceActions } from './maintenance-actions.ts';
import { registerOpenApi } from './openapi.ts';
import { PATCH_CONTENT_TYPES } from './patch.ts';
import { PROTOBUF_CONTENT_TYPE, decodeProtobufObject } from './protobuf.ts';
import { parseQueryString } from './query-parameters.ts';
import { requestContext } from './request-context.ts';
import { dryRunOf, registerResourceRoutes } from './resources.ts';
import './route-config.ts';
import { PUBLIC_ROUTE } from './route-config.ts';
import { statusFromError } from './status.ts';
import { registerDriftRemedies } from './drift-remedies.ts';
import { registerVmActions } from './vm-actions.ts';
import { registerVmiSubresources } from './vmi-subresources.ts';
import { registerVmiConsole } from './vmi-console.ts';
import { CONSOLE_SUBPROTOCOL } from '../resources/types.ts';
import { bearerTokenOf, chooseSubprotocol } from './websocket-auth.ts';
import websocket from '@fastify/websocket';
import { WatchRegistry } from './watch.ts';
import type { ReadCheck } from './node-restriction.ts';
import {
  DEFAULT_MAX_LIST_LIMIT,
  DEFAULT_REFUSAL_RECORD_BURST,
  DEFAULT_REFUSAL_RECORDS_PER_SECOND,
  TokenBuckets,
  registerClientLimits,
  type ClientLimits,
} from './limits.ts';
import {
  closeAfterReply,
  discardBody,
  discardLimit,
  receiveTimeouts,
  registerRequestTimeout,
  type ConnectionLimits,
} from './connection-limits.ts';

export interface ApiServerLimits extends ClientLimits, ConnectionLimits {
  /** Largest request body accepted (413 RequestEntityTooLarge beyond). Default 3 MiB, as Kubernetes. */
  bodyBytes?: number;
  /** A list's `limit` is lowered to this (the answer carries `continue`). Default 500 (DEFAULT_MAX_LIST_LIMIT). */
  maxListLimit?: number;
}

export interface ApiServerDeps {
  store: ResourceStore;
  /** For interfacelist and guest-exec; without it those answer 503. */
  runtime?: Runtime;
  admission: AdmissionPlugin[];
  authenticator: Authenticator;
  /** Decides each request after authentication; default: allow everything. */
  authorize?: Authorize;
  /** Narrows what a permitted read returns to what the user may see (roles.ts readFilter); default: everything. */
  readFilter?: ReadFilter;
  /** A per-object read check that needs the store (node-restriction.ts nodeReadCheck); default: none. */
  readCheck?: ReadCheck;
  logger?: FastifyBaseLogger | false;
  /** Extra routes (web UI, metrics); they need a token unless their route config has `public: true` (see PUBLIC_ROUTE). */
  plugins?: FastifyPluginAsync[];
  limits?: ApiServerLimits;
  /** /readyz answers ok only when this says so (default: always ready). */
  isReady?: () => boolean;
  /** Where request counts and latencies are recorded (the registry /metrics serves); none: not recorded. */
  metrics?: Registry;
  /** Serve HTTPS with this key and certificate (see ensureServingCertificate): kubectl sends its token only over TLS. */
  https?: { key: string; cert: string };
}

const DEFAULT_BODY_BYTES = 3 * 1024 * 1024;

/** Discovery and OpenAPI: what kubectl reads before anything else, open to every authenticated user. */
const DISCOVERY_ROUTES = new Set([
  '/api',
  '/api/v1',
  '/apis',
  '/apis/:group',
  '/apis/:group/:version',
  '/openapi/v2',
  '/openapi/v3',
  '/openapi/v3/*',
  '/version',
]);

const JSON_TYPES = [
  'application/json',
  ...Object.keys(PATCH_CONTENT_TYPES).filter((t) => PATCH_CONTENT_TYPES[t] !== 'apply'),
];

/** A body parser: empty is no body, a syntax error a 400 naming the format, and nesting is bounded (body-depth.ts). */
const bodyParser =
  (format: string, parse: (text: string) => unknown) =>
  (_request: FastifyRequest, body: string | Buffer): unknown => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return undefined;
    let parsed: unknown;
    try {
      parsed = parse(text);
    } catch (e) {
      throw new BadRequest(`the request body is not valid ${format}: ${(e as Error).message}`);
    }
    return checkBodyDepth(parsed);
  };
const parseJsonBody = bodyParser('JSON', (text) => JSON.parse(text));
const parseYamlBody = bodyParser('YAML', (text) => parseYaml(text));

export async function createApiServer(deps: ApiServerDeps): Promise<FastifyInstance> {
  const { store } = deps;
  const bodyLimit = deps.limits?.bodyBytes ?? DEFAULT_BODY_BYTES;
  const receive = receiveTimeouts(deps.limits);
  const options = {
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false as const }),
    bodyLimit,
    // Header and body time are bounded by Node's http server; the handler's time by registerRequestTimeout.
    requestTimeout: receive.requestTimeout,
    http: receive,
    // Event and Node names may be 253 characters long.
    // Query strings are read with kube-apiserver's rules (first of repeated keys, Go booleans and integers).
    routerOptions: { maxParamLength: 300, querystringParser: parseQueryString },
    // URLs refused before routing (a bad percent-escape, an over-long name) get a Status like every other refusal.
    frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply): void => {
      const { status } = statusFromError(error);
      void reply.code(status.code).type('application/json').send(status);
    },
  };
  const { http: _http1, ...common } = options;
  // Over TLS the server speaks HTTP/2 (ALPN h2) and HTTP/1.1 on the same port: a browser then carries all of its
  // tabs' long-lived watches on one connection instead of running out of its six HTTP/1.1 connections per server, and
  // clients that speak only HTTP/1.1 (kubectl's WebSocket upgrades, the console, older libraries) are served as before.
  // Requests and replies have the same API either way; only the listening server differs.
  const app = (deps.https
    ? Fastify({
        ...common,
        http2: true,
        https: { ...deps.https, allowHTTP1: true },
        // On close each HTTP/2 session is told to go away (GOAWAY) once its watches are ended (preClose below);
        // without it Node 20 waits for the browser to drop a connection it keeps open, and shutdown hangs.
        forceCloseConnections: true,
      } as unknown as FastifyHttp2SecureOptions<Http2SecureServer>)
    : Fastify(options)) as unknown as FastifyInstance;
  // Node's HTTP/2 server takes the HTTP/1.1 receive bounds as properties, not as constructor options.
  if (deps.https) Object.assign(app.server, receive);
  const watches = new WatchRegistry();
  const authorize = deps.authorize ?? allowAll;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    JSON_TYPES,
    { parseAs: 'string' },
    async (request: FastifyRequest, body: string | Buffer) => parseJsonBody(request, body),
  );
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml'],
    { parseAs: 'string' },
    async (request: FastifyRequest, body: string | Buffer) => parseYamlBody(request, body),
  );
  app.addContentTypeParser(
    PROTOBUF_CONTENT_TYPE,
    { parseAs: 'buffer' },
    async (_r: FastifyRequest, body: string | Buffer) =>
      decodeProtobufObject(Buffer.isBuffer(body) ? body : Buffer.from(body)),
  );
  // `kubectl create|replace --raw -f` sends its JSON file with no JSON content type; KubeVirt's subresources (start,
  // stop, restart) are called that way, so their bodies are read as JSON whatever the type says.
  app.addContentTypeParser(
    '*',
    { parseAs: 'string' },
    async (request: FastifyRequest, body: string | Buffer) => {
      if (!request.url.startsWith('/apis/subresources.')) {
        throw new HarrowError(
          'UnsupportedMediaType',
          415,
          `the body of the request was in an unknown format (${request.headers['content-type'] ?? 'no Content-Type'}): send application/json`,
        );
      }
      return parseJsonBody(request, body);
    },
  );
  // Server-side apply's body: YAML (JSON is YAML too; kubectl sends JSON).
  app.addContentTypeParser(
    'application/apply-patch+yaml',
    { parseAs: 'string' },
    async (request: FastifyRequest, body: string | Buffer) => parseYamlBody(request, body),
  );

  registerRequestTimeout(app, deps.limits);
  if (deps.metrics) registerRequestMetrics(app, deps.metrics);

  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    if (config.public) return;
    const token = bearerTokenOf(request.headers);
    const user = token !== undefined ? await deps.authenticator.authenticate(token) : undefined;
    if (!user) {
      // Whatever body it is still sending is not read: the socket closes after the 401.
      closeAfterReply(reply);
      throw new Unauthorized();
    }
    const context = requestContext(request);
    context.user = user;
    const route = config.harrow;
    // API routes authorize in their handlers (they know namespace and name); other routes (/metrics) are asked here by path.
    const path = request.routeOptions.url;
    if (
      !route &&
      path !== undefined &&
      !DISCOVERY_ROUTES.has(path) &&
      !authorize(user, 'get', `path:${path}`)
    ) {
      throw new Forbidden(`forbidden: User "${user.name}" cannot get path "${path}"`);
    }
    if (route?.audited) {
      const params = request.params as { namespace?: string; name?: string };
      context.audit = {
        verb: route.verb,
        kind: route.kind,
        ...(params.namespace !== undefined ? { namespace: params.namespace } : {}),
        name: params.name ?? '',
      };
      context.dryRun = dryRunOf((request.query as { dryRun?: string[] }).dryRun);
    }
  });

  registerClientLimits(app, deps.limits);
  const refusalRecords = new TokenBuckets(
    deps.limits?.refusalRecordsPerSecond ?? DEFAULT_REFUSAL_RECORDS_PER_SECOND,
    deps.limits?.refusalRecordBurst ?? DEFAULT_REFUSAL_RECORD_BURST,
  );

  // A namespace in the URL that no namespace could be named ("..%2F..%2Fetc") is one that does not exist, for every
  // route: lists included, which otherwise answer an empty list for any name.
  app.addHook('preValidation', async (request) => {
    const namespace = (request.params as { namespace?: unknown } | undefined)?.namespace;
    if (typeof namespace === 'string' && validateDns1123Label(namespace, 'namespace').length > 0) {
      throw new NotFound(`namespaces "${namespace}" not found`, {
        name: namespace,
        group: '',
        kind: 'namespaces',
      });
    }
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { status, internal } = statusFromError(error);
    if (internal)
      request.log.error(
        { err: error, method: request.method, url: request.url },
        'request failed unexpectedly',
      );
    const context = requestContext(request);
    if (
      context.audit &&
      context.user &&
      !context.dryRun &&
      status.code >= 400 &&
      status.code !== 429 &&
      refusalRecords.take(context.user.uid ?? context.user.name) === 0
    ) {
      // The write did not happen: the attempt is still recorded, as a record of its own — bounded per user, and not for
      // a rate-limit refusal, so a flood of requests does not become a flood of audit writes.
      try {
        await store.create(
          auditRecord({
            user: context.user.name,
            verb: context.audit.verb,
            resource: await refusedResource(store, context.audit),
            outcome: { code: status.code, message: status.message },
          }),
        );
      } catch (e) {
        request.log.error({ err: e }, 'could not write the audit record of a failed request');
      }
    }
    if (status.code === 413) {
      // Read off the rest of the body (up to a bound) before answering, as kube-apiserver does: a client that sends all
      // of it before reading then gets this Status, not a reset; when all of it came, the connection stays usable.
      if (await discardBody(request.raw, discardLimit(deps.limits ?? {}, bodyLimit)))
        reply.removeHeader('connection');
      else closeAfterReply(reply);
    }
    if (status.details?.retryAfterSeconds !== undefined)
      reply.header('Retry-After', String(status.details.retryAfterSeconds));
    return reply.code(status.code).type('application/json').send(status);
  });

  app.setNotFoundHandler(async (request) => {
    throw new NotFound(
      `the server could not find the requested resource (${request.method} ${request.url.split('?')[0]})`,
    );
  });

  // A revoked token's requests fail from the next one on (tokens.ts reads the record each time); its open watches end now.
  // If the store ends this watch (etcd compacted past it), a revocation in the gap is unknown: end every open watch
  // (clients re-list and watch again, authenticated anew) and follow revocations from now on.
  let revocations: WatchHandle;
  const followRevocations = (): void => {
    revocations = store.watch(
      'ApiToken',
      {
        onEnded: () => {
          watches.closeAll();
          followRevocations();
        },
      },
      (event) => {
        if (event.type === 'DELETED') watches.closeOwnedBy(event.object.metadata.name);
      },
    );
  };
  followRevocations();
  app.addHook('preClose', async () => {
    revocations.stop();
    watches.closeAll();
  });

  for (const path of ['/healthz', '/livez']) {
    app.get(path, { config: PUBLIC_ROUTE }, async (_request, reply) =>
      reply.type('text/plain').send('ok'),
    );
  }
  app.get('/readyz', { config: PUBLIC_ROUTE }, async (_request, reply) => {
    const ready = deps.isReady ? deps.isReady() : true;
    return reply
      .code(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'ok' : 'not ready');
  });

  // WebSockets (the console): upgrade requests go through the same hooks (auth, limits) as any request.
  await app.register(websocket, {
    options: { handleProtocols: (offered) => chooseSubprotocol(offered, CONSOLE_SUBPROTOCOL) },
  });
  registerDiscovery(app);
  registerAccessReviews(app, authorize);
  registerOpenApi(app);
  registerResourceRoutes(app, {
    store,
    admission: deps.admission,
    authorize,
    ...(deps.readFilter ? { readFilter: deps.readFilter } : {}),
    ...(deps.readCheck ? { readCheck: deps.readCheck } : {}),
    watches,
    maxListLimit: deps.limits?.maxListLimit ?? DEFAULT_MAX_LIST_LIMIT,
  });
  registerVmActions(app, { store, admission: deps.admission, authorize });
  // Harrow's drift remedies (restore-mac, adopt-guest-mac) are VM subresources too.
  registerDriftRemedies(app, { store, admission: deps.admission, authorize });
  registerMaintenanceActions(app, { store, admission: deps.admission, authorize });
  registerVmiSubresources(app, {
    store,
    ...(deps.runtime ? { runtime: deps.runtime } : {}),
    authorize,
  });
  registerVmiConsole(app, {
    store,
    ...(deps.runtime ? { runtime: deps.runtime } : {}),
    authorize,
  });
  for (const plugin of deps.plugins ?? []) await app.register(plugin);

  await ensureDefaultNamespace(store);
  return app;
}

/**
 * Where a refused request's AuditRecord goes: its namespace when that exists and the object's name is one an object
 * could have. Otherwise the record is cluster-level (kept in `default`, shown to admins only): a refusal never puts a
 * record into a namespace nobody made, or under a name no object could have where the namespace's users read it.
 */
async function refusedResource(
  store: ResourceStore,
  audit: { kind: string; namespace?: string; name: string },
): Promise<{ kind: string; namespace?: string; name: string }> {
  const clusterLevel = { kind: audit.kind, name: audit.name };
  if (audit.namespace === undefined) return clusterLevel;
  const nameValid = audit.name === '' || validateDns1123Subdomain(audit.name, 'name').length === 0;
  const namespaceExists =
    validateDns1123Label(audit.namespace, 'namespace').length === 0 &&
    (await store.get({ kind: 'Namespace', name: audit.namespace })) !== undefined;
  return nameValid && namespaceExists
    ? { ...clusterLevel, namespace: audit.namespace }
    : clusterLevel;
}

/** The `default` namespace exists from the start, as in Kubernetes. */
async function ensureDefaultNamespace(store: ResourceStore): Promise<void> {
  if (await store.get({ kind: 'Namespace', name: 'default' })) return;
  try {
    await store.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'default' },
      status: { phase: 'Active' },
    });
  } catch (e) {
    if (!(e instanceof AlreadyExists)) throw e;
  }
}
