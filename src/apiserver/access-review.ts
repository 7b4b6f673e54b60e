// authorization.k8s.io/v1 SelfSubjectAccessReview and SelfSubjectRulesReview (`kubectl auth can-i [--list]`), answered
// by asking the same authorizer every request goes through, so a review never says other than the request would get.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Invalid } from '../resources/errors.ts';
import { KINDS, REVIEW_KINDS as ACCESS_REVIEW_KINDS } from '../resources/kinds.ts';
import type { UserInfo } from './admission/types.ts';
import type { Authorize } from './auth.ts';
import { ACTION_SUBRESOURCES } from './discovery.ts';
import { requestUser } from './request-context.ts';

const GROUP = 'authorization.k8s.io';
const VERSION = 'v1';

/** What Kubernetes' system:discovery and system:public-info-viewer give every authenticated user. */
const DISCOVERY_URLS = [
  '/api',
  '/api/*',
  '/apis',
  '/apis/*',
  '/openapi',
  '/openapi/*',
  '/version',
  '/version/',
  '/healthz',
  '/livez',
  '/readyz',
];

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

interface AccessReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** One resource request as the authorizer sees it: `kubectl auth can-i VERB RESOURCE[/SUB] [NAME] [-n NS]`. */
export function reviewResource(
  authorize: Authorize,
  user: UserInfo,
  a: ResourceAttributes,
): AccessReviewStatus {
  const verb = a.verb ?? '';
  const group = a.group ?? '';
  const subresource = a.subresource ?? '';
  const namespace = a.namespace === '' ? undefined : a.namespace;
  const name = a.name === '' ? undefined : a.name;
  if (group === GROUP && ACCESS_REVIEW_KINDS.some((k) => k.plural === a.resource))
    return verb === 'create'
      ? { allowed: true, reason: 'every authenticated user may review its own access' }
      : { allowed: false };
  const action = ACTION_SUBRESOURCES.find(
    (s) => s.group === group && s.name === `${a.resource}/${subresource}`,
  );
  const info = action
    ? KINDS.find((k) => k.kind === action.kind)
    : KINDS.find((k) => k.group === group && k.plural === a.resource);
  // Unknown resources and wildcards: allowed only for whoever may do anything (an admin).
  const kind = info?.kind ?? '*';
  // An action subresource is authorized by its name (start, guest-exec, …), as its route does.
  const asked = action ? subresource : verb;
  if (action && !action.verbs.includes(verb)) return { allowed: false };
  if (info && !action && subresource === '' && !info.verbs.includes(verb as never) && verb !== '*')
    return { allowed: false, reason: `${a.resource} does not serve ${verb}` };
  const allowed = authorize(
    user,
    asked,
    kind,
    info?.namespaced === false ? undefined : namespace,
    name,
  );
  return allowed ? { allowed, reason: 'allowed by Harrow’s roles' } : { allowed };
}

interface ResourceRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
}

/** Every rule the user holds in `namespace` (cluster-scoped kinds too), derived from the authorizer verb by verb. */
export function rulesFor(
  authorize: Authorize,
  user: UserInfo,
  namespace: string,
): {
  resourceRules: ResourceRule[];
  nonResourceRules: Array<{ verbs: string[]; nonResourceURLs: string[] }>;
} {
  const reviewRule: ResourceRule = {
    verbs: ['create'],
    apiGroups: [GROUP],
    resources: ACCESS_REVIEW_KINDS.map((k) => k.plural),
  };
  if (authorize(user, '*', '*')) {
    return {
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, reviewRule],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
    };
  }
  const rules: ResourceRule[] = [reviewRule];
  for (const info of KINDS) {
    const ns = info.namespaced ? namespace : undefined;
    const verbs = info.verbs.filter((v) => authorize(user, v, info.kind, ns));
    if (verbs.length > 0) rules.push({ verbs, apiGroups: [info.group], resources: [info.plural] });
  }
  for (const s of ACTION_SUBRESOURCES) {
    const [, sub] = s.name.split('/') as [string, string];
    if (authorize(user, sub, s.kind, s.namespaced ? namespace : undefined))
      rules.push({ verbs: [...s.verbs], apiGroups: [s.group], resources: [s.name] });
  }
  return {
    resourceRules: rules,
    nonResourceRules: [{ verbs: ['get'], nonResourceURLs: [...DISCOVERY_URLS] }],
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** 422 naming the field, as kube-apiserver answers a malformed review. */
const invalid = (kind: string, field: string, reason: string, message: string): Invalid =>
  new Invalid(`${kind}.${GROUP} is invalid: ${field}: ${message}`, [{ field, reason, message }], {
    group: GROUP,
    kind: kind.toLowerCase() + 's',
  });

function specOf(body: unknown, kind: string): Record<string, unknown> {
  if (!isObject(body) || !isObject(body.spec))
    throw invalid(kind, 'spec', 'FieldValueRequired', 'a review needs a spec');
  return body.spec;
}

export function registerAccessReviews(app: FastifyInstance, authorize: Authorize): void {
  const config = (kind: string): { harrow: { kind: string; verb: string; audited: boolean } } => ({
    // Never stored, so nothing to audit; every authenticated user may ask about itself.
    harrow: { kind, verb: 'create', audited: false },
  });
  const answer = (kind: string, body: unknown, spec: unknown, status: unknown): unknown => ({
    kind,
    apiVersion: `${GROUP}/${VERSION}`,
    metadata: {
      ...(isObject(body) && isObject(body.metadata) ? body.metadata : {}),
      creationTimestamp: null,
    },
    spec,
    status,
  });

  app.post(
    `/apis/${GROUP}/${VERSION}/selfsubjectaccessreviews`,
    { config: config('SelfSubjectAccessReview') },
    async (request: FastifyRequest, reply) => {
      const kind = 'SelfSubjectAccessReview';
      const spec = specOf(request.body, kind);
      const user = requestUser(request);
      const resource = spec.resourceAttributes;
      const nonResource = spec.nonResourceAttributes;
      if ((resource === undefined) === (nonResource === undefined))
        throw invalid(
          kind,
          'spec.resourceAttributes',
          'FieldValueInvalid',
          'exactly one of resourceAttributes or nonResourceAttributes must be specified',
        );
      let status: AccessReviewStatus;
      if (isObject(resource)) {
        status = reviewResource(authorize, user, {
          ...(str(resource.namespace) !== undefined ? { namespace: str(resource.namespace) } : {}),
          ...(str(resource.verb) !== undefined ? { verb: str(resource.verb) } : {}),
          ...(str(resource.group) !== undefined ? { group: str(resource.group) } : {}),
          ...(str(resource.resource) !== undefined ? { resource: str(resource.resource) } : {}),
          ...(str(resource.subresource) !== undefined
            ? { subresource: str(resource.subresource) }
            : {}),
          ...(str(resource.name) !== undefined ? { name: str(resource.name) } : {}),
        });
      } else if (isObject(nonResource)) {
        const path = str(nonResource.path) ?? '';
        const verb = str(nonResource.verb) ?? '';
        const open =
          verb === 'get' &&
          DISCOVERY_URLS.some((u) =>
            u.endsWith('*') ? path.startsWith(u.slice(0, -1)) : u === path,
          );
        status = { allowed: open || authorize(user, verb, `path:${path}`) };
      } else {
        throw invalid(kind, 'spec.resourceAttributes', 'FieldValueInvalid', 'must be an object');
      }
      reply.code(201);
      return answer(kind, request.body, spec, status);
    },
  );

  app.post(
    `/apis/${GROUP}/${VERSION}/selfsubjectrulesreviews`,
    { config: config('SelfSubjectRulesReview') },
    async (request: FastifyRequest, reply) => {
      const kind = 'SelfSubjectRulesReview';
      const spec = specOf(request.body, kind);
      const namespace = str(spec.namespace) ?? '';
      const rules = rulesFor(authorize, requestUser(request), namespace);
      reply.code(201);
      return answer(kind, request.body, spec, { ...rules, incomplete: false });
    },
  );
}
