// Request metrics under kube-apiserver's names: apiserver_request_total and apiserver_request_duration_seconds, labelled
// by verb, group, version, resource, subresource and scope, read from the route's pattern (never from the raw URL, so
// the label values stay bounded).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { isMacConflict } from '../allocation/service.ts';
import { counter, gauge, histogram } from '../metrics/families.ts';
import { goQueryBoolean } from './query-parameters.ts';

// kube-apiserver's request-latency buckets.
const DURATION_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45,
  60,
];

export interface RequestLabels {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
}

const NONE: RequestLabels = {
  verb: '',
  group: '',
  version: '',
  resource: '',
  subresource: '',
  scope: '',
};

/**
 * The labels kube-apiserver gives a request, from the route pattern (`/apis/:group/…` stays as written), the method, the
 * content type and the query: verbs are GET/LIST/WATCH/POST/PUT/PATCH/APPLY/DELETE/DELETECOLLECTION/CONNECT; scope is
 * resource (a name), namespace (a namespace, no name) or cluster. A path that is no resource (discovery, /metrics) keeps
 * its method as verb and empty resource labels.
 */
export function requestLabels(
  method: string,
  route: string | undefined,
  query: string,
  contentType: string | undefined,
  upgrade: boolean,
): RequestLabels {
  const segments = (route ?? '').split('/').filter((s) => s !== '');
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    group = '';
    version = segments[1] as string;
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4 && !segments[1]?.startsWith(':')) {
    group = segments[1] as string;
    version = segments[2] as string;
    rest = segments.slice(3);
  } else {
    return { ...NONE, verb: method === 'HEAD' ? 'GET' : method };
  }
  let namespaced = false;
  if (rest[0] === 'namespaces' && rest[1] === ':namespace' && rest.length >= 3) {
    namespaced = true;
    rest = rest.slice(2);
  }
  const [resource = '', name, subresource = ''] = rest;
  const named = name !== undefined;
  const watch = /(?:^|&)watch=([^&]*)/.exec(query);
  let verb: string;
  if (upgrade || (subresource !== '' && ['console', 'vnc', 'portforward'].includes(subresource)))
    verb = 'CONNECT';
  else if (method === 'GET' || method === 'HEAD')
    verb = named
      ? 'GET'
      : watch && goQueryBoolean(decodeURIComponent(watch[1] ?? ''))
        ? 'WATCH'
        : 'LIST';
  else if (method === 'DELETE') verb = named ? 'DELETE' : 'DELETECOLLECTION';
  else if (method === 'PATCH' && contentType?.startsWith('application/apply-patch')) verb = 'APPLY';
  else verb = method;
  return {
    verb,
    group,
    version,
    resource,
    subresource,
    scope: named ? 'resource' : namespaced ? 'namespace' : 'cluster',
  };
}

/**
 * Records every request's count and latency on `registry` once its response is sent (a watch when it ends), and the
 * writes refused (409) because a MAC they ask for belongs to another VM.
 */
export function registerRequestMetrics(app: FastifyInstance, registry: Registry): void {
  const total = counter(registry, {
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, group, version, resource, subresource, scope and HTTP response code.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'code'],
  });
  const duration = histogram(registry, {
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, group, version, resource, subresource and scope.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope'],
    buckets: DURATION_BUCKETS,
  });
  const inflight = gauge(registry, {
    name: 'apiserver_current_inflight_requests',
    help: 'Number of requests being served, by kind: readOnly (GET, LIST, WATCH) or mutating.',
    labelNames: ['request_kind'],
  });
  const macConflicts = counter(registry, {
    name: 'harrow_mac_conflict_refusals_total',
    help: 'Writes refused with 409 Conflict because a MAC address they ask for is held by, or being assigned to, another VM or VMI, by resource.',
    labelNames: ['resource'],
  });
  inflight.set({ request_kind: 'readOnly' }, 0);
  inflight.set({ request_kind: 'mutating' }, 0);
  const kindOf = (request: FastifyRequest): string =>
    request.method === 'GET' || request.method === 'HEAD' ? 'readOnly' : 'mutating';
  // Registered before authentication, so a refused request counts too. A WebSocket upgrade is not an HTTP response.
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.upgrade !== undefined) return;
    const kind = { request_kind: kindOf(request) };
    inflight.inc(kind);
    reply.raw.once('close', () => inflight.dec(kind));
  });
  const labelsOf = (request: FastifyRequest): RequestLabels => {
    const q = request.url.indexOf('?');
    return requestLabels(
      request.method,
      request.routeOptions.url,
      q < 0 ? '' : request.url.slice(q + 1),
      request.headers['content-type'],
      request.headers.upgrade?.toLowerCase() === 'websocket',
    );
  };
  // Before the error handler renders the Status: the error itself says whether a MAC was the conflict.
  app.addHook('onError', async (request, _reply, error) => {
    if (isMacConflict(error)) macConflicts.inc({ resource: labelsOf(request).resource });
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = labelsOf(request);
    total.inc({ ...labels, code: String(reply.statusCode) });
    duration.observe(labels, reply.elapsedTime / 1000);
  });
}
