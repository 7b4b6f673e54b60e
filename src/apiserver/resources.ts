// The generic REST routes of every kind in kinds.ts: list/watch, create, get, replace, patch, delete, deletecollection and /status.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  BadRequest,
  Conflict,
  Forbidden,
  HarrowError,
  Invalid,
  NotFound,
} from '../resources/errors.ts';
import { KINDS, apiVersionOf, type KindInfo, type Verb } from '../resources/kinds.ts';
import type { KubeObject, ObjectRef } from '../resources/meta.ts';
import type { LabelsFilter, ListOptions, ResourceStore } from '../store/types.ts';
import type { AdmissionPlugin, UserInfo } from './admission/types.ts';
import type { ReadCheck } from './node-restriction.ts';
import type { Authorize, ReadFilter } from './auth.ts';
import { checkFields, fieldValidationOf } from './field-validation.ts';
import {
  carryOverOnUpdate,
  hasStatusSubresource,
  incomingObject,
  prepareCreate,
} from './incoming-object.ts';
import {
  fieldManagerOf,
  recordUpdate,
  serverSideApply,
  type FieldWrite,
} from './field-manager/managed-fields.ts';
import type { FieldScope } from './field-manager/field-set.ts';
import { applyPatch, patchBodyRefusal, patchTypeOf, type PatchType } from './patch.ts';
import {
  ApplyPatchSchema,
  JsonPatchSchema,
  ObjectPatchSchema,
  PATCH_BODY_SCHEMAS,
  bodyFits,
  objectBodySchema,
  routeValidatorCompiler,
  schemaRefusal,
} from './body-schemas.ts';
import { requestContext, requestUser } from './request-context.ts';
import { labelsMatcher, parseSelector, selectorMatches, selectsEverything } from './selectors.ts';
import { tableVersionAccepted, toTable, type IncludeObject, type TableOptions } from './tables.ts';
import { goQueryBoolean, integerParameter, type Query } from './query-parameters.ts';
import { serveWatch, type WatchRegistry } from './watch.ts';
import {
  admitAndCommit,
  modifiedConflict,
  notFound,
  qualifiedResource,
  type WriteRequest,
  type WriteResult,
} from './writes.ts';

export interface ResourceRoutesDeps {
  store: ResourceStore;
  admission: AdmissionPlugin[];
  authorize: Authorize;
  /** Narrows reads to the objects the user may see (default: all). */
  readFilter?: ReadFilter;
  /** A per-object check of a read of one object that needs the store (the node role's VMs); default: none. */
  readCheck?: ReadCheck;
  watches: WatchRegistry;
  maxListLimit?: number;
}

/** Route facts the global hooks read: the kind and the verb (for authorization and the audit of failures). */
export interface HarrowRouteConfig {
  kind: string;
  verb: string;
  /** Mutating: a failure after authentication is audited. */
  audited: boolean;
}

export interface ResourceQuery {
  labelSelector?: string;
  fieldSelector?: string;
  /** Integers as given; read through integerParameter (Go's ParseInt rules). */
  limit?: string;
  continue?: string;
  /** 'true' or 'false' (query-parameters.ts reads every boolean the way kube-apiserver does). */
  watch?: string;
  resourceVersion?: string;
  timeoutSeconds?: string;
  dryRun?: string[];
  fieldValidation?: string;
  fieldManager?: string;
  force?: string;
  allowWatchBookmarks?: string;
  sendInitialEvents?: string;
  includeObject?: IncludeObject;
}

interface ResourceParams {
  namespace?: string;
  name?: string;
}

type Req = FastifyRequest<{ Params: ResourceParams; Querystring: ResourceQuery; Body: unknown }>;

const QUERY_SCHEMA = {
  type: 'object',
  properties: {
    labelSelector: { type: 'string' },
    fieldSelector: { type: 'string' },
    limit: { type: 'string' },
    continue: { type: 'string' },
    watch: { type: 'string', enum: ['true', 'false'] },
    resourceVersion: { type: 'string' },
    timeoutSeconds: { type: 'string' },
    dryRun: { type: 'array', items: { type: 'string' } },
    fieldValidation: { type: 'string' },
    fieldManager: { type: 'string' },
    force: { type: 'string' },
    allowWatchBookmarks: { type: 'string' },
    sendInitialEvents: { type: 'string', enum: ['true', 'false'] },
    gracePeriodSeconds: { type: 'string' },
    propagationPolicy: { type: 'string', enum: ['Orphan', 'Background', 'Foreground'] },
    includeObject: { type: 'string', enum: ['None', 'Metadata', 'Object'] },
  },
} as const;

/** An optional store capability: list answered with each object's stored JSON text. */
interface RawListStore {
  listRaw(
    kind: string,
    options?: ListOptions,
  ): Promise<{ json: string[]; resourceVersion: string; continue?: string }>;
}

const hasListRaw = (store: ResourceStore): store is ResourceStore & RawListStore =>
  typeof (store as Partial<RawListStore>).listRaw === 'function';

/**
 * An optional store capability: the items of a list as one comma-separated UTF-8 text (the SQLite list cache's bytes),
 * optionally only those whose labels `labels` accepts (tested on labels kept beside the bytes: nothing is parsed).
 */
interface EncodedListStore {
  listEncoded(
    kind: string,
    options?: ListOptions & { labels?: LabelsFilter },
  ): Promise<{ items: Buffer; resourceVersion: string; continue?: string }>;
}

const hasListEncoded = (store: ResourceStore): store is ResourceStore & EncodedListStore =>
  typeof (store as Partial<EncodedListStore>).listEncoded === 'function';

/** Kinds that can never be removed by deleting their namespace's other contents first (append-only records). */
const NAMESPACE_LEFTOVERS = new Set(['AuditRecord', 'Event']);

/** `dryRun` (a list in Kubernetes: `?dryRun=All`, repeatable): true when it asks for a dry run; any other value is a 400. */
export function dryRunOf(value: string | readonly string[] | undefined): boolean {
  const values = value === undefined ? [] : typeof value === 'string' ? [value] : value;
  let dry = false;
  for (const v of values) {
    if (v === 'All') dry = true;
    else if (v !== '')
      throw new BadRequest(
        `invalid dryRun value ${JSON.stringify(v)}: the only supported value is All`,
      );
  }
  return dry;
}

// Header bytes beyond ASCII are read as Latin-1 by browsers and fetch (→ arrives as "â"), so warnings go out in ASCII:
// the characters Harrow's messages use get ASCII spellings, any other becomes "?".
const ASCII_SPELLING: Record<string, string> = {
  '→': '->',
  '←': '<-',
  '…': '...',
  '—': '-',
  '–': '-',
  '‘': "'",
  '’': "'",
  '“': '"',
  '”': '"',
};

/** The text of a warning as it may travel in a header: ASCII, no control characters. */
export function asciiWarning(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a header
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .replace(/[^\u0020-\u007e]/gu, (c) => ASCII_SPELLING[c] ?? '?')
  );
}

/** `Warning: 299 - "text"` headers (RFC 9110 quoting), in ASCII. */
export function setWarnings(reply: FastifyReply, warnings: string[]): void {
  if (warnings.length === 0) return;
  reply.header(
    'Warning',
    warnings.map((w) => {
      const quoted = asciiWarning(w).replace(/[\\"]/g, (c) => `\\${c}`);
      return `299 - "${quoted}"`;
    }),
  );
}

/** Table printing options when the client asked for a Table (kubectl get), else undefined. */
function tableOptionsOf(request: Req): TableOptions | undefined {
  const version = tableVersionAccepted(request.headers.accept);
  if (!version) return undefined;
  return {
    version,
    ...(request.query.includeObject ? { includeObject: request.query.includeObject } : {}),
  };
}

export function listPrefix(info: KindInfo): string {
  return info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
}

/**
 * One encapsulated plugin per API group/version (kubevirt.io/v1, harrow.io/v1, core v1, …), as Fastify's `register`
 * gives: whatever a group adds (hooks, parsers, decorators) stays inside it; the server's auth, limits and Status
 * errors, registered before, reach every group.
 */
export function registerResourceRoutes(app: FastifyInstance, deps: ResourceRoutesDeps): void {
  const groups = new Map<string, KindInfo[]>();
  for (const info of KINDS) {
    const key = listPrefix(info);
    groups.set(key, [...(groups.get(key) ?? []), info]);
  }
  for (const kinds of groups.values()) {
    void app.register(async (group) => {
      // Bodies are checked against the kind's TypeBox schema and answered as kube-apiserver answers (body-schemas.ts).
      group.setValidatorCompiler(routeValidatorCompiler);
      for (const info of kinds) registerKind(group, deps, info);
    });
  }
}

function registerKind(app: FastifyInstance, deps: ResourceRoutesDeps, info: KindInfo): void {
  const { store } = deps;
  const prefix = listPrefix(info);
  const collection = info.namespaced
    ? `${prefix}/namespaces/:namespace/${info.plural}`
    : `${prefix}/${info.plural}`;
  const item = `${collection}/:name`;
  const allows = (verb: Verb): boolean => info.verbs.includes(verb);
  const config = (verb: string, audited: boolean): { harrow: HarrowRouteConfig } => ({
    harrow: { kind: info.kind, verb, audited },
  });
  const bodySchema = objectBodySchema(info);
  const objectWrite = { querystring: QUERY_SCHEMA, body: bodySchema };
  const patchWrite = { querystring: QUERY_SCHEMA, body: { content: PATCH_BODY_SCHEMAS } };
  // A kind whose status is written through /status: the main resource's writes are checked without it, and back.
  const mainScope = hasStatusSubresource(info.kind) ? ('main' as const) : undefined;
  /** The kind's schema over the object to write, unless the body already passed it as is (create, replace). */
  const refusalOf = (
    request: Req | undefined,
    object: KubeObject,
    old: KubeObject | undefined,
    scope: 'main' | 'status' | undefined = mainScope,
  ): { refusal?: Invalid } => {
    if (request && bodyFits(request, bodySchema)) return {};
    const refusal = schemaRefusal(info, object, {
      ...(old ? { old } : {}),
      ...(scope ? { scope } : {}),
    });
    return refusal ? { refusal } : {};
  };

  const user = (request: Req): UserInfo => requestUser(request);
  const authorize = (
    request: Req,
    verb: string,
    namespace: string | undefined,
    name?: string,
  ): UserInfo => {
    const u = user(request);
    if (!deps.authorize(u, verb, info.kind, namespace, name)) {
      const what = name ? `${qualifiedResource(info)} "${name}"` : qualifiedResource(info);
      const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
      throw new Forbidden(
        `${what} is forbidden: User "${u.name}" cannot ${verb} resource "${info.plural}" in API group "${info.group}"${where}`,
        {
          ...(name ? { name } : {}),
          group: info.group,
          kind: info.plural,
        },
      );
    }
    return u;
  };
  const notAllowed = (verb: Verb): HarrowError =>
    new HarrowError(
      'MethodNotAllowed',
      405,
      `${verb} is not supported on ${qualifiedResource(info)}: ${info.kind} is ${info.verbs.includes('create') ? 'not deletable as a collection' : 'read-only through the API'}`,
      {
        group: info.group,
        kind: info.plural,
      },
    );
  const refOf = (namespace: string | undefined, name: string): ObjectRef =>
    info.namespaced
      ? { kind: info.kind, namespace: namespace ?? '', name }
      : { kind: info.kind, name };
  const getOr404 = async (namespace: string | undefined, name: string): Promise<KubeObject> => {
    const o = await store.get(refOf(namespace, name));
    if (!o) throw notFound(info, name);
    return o;
  };
  /** A read of one object: one the user may not see is answered as absent, so a 404 tells nothing a missing one would not. */
  const readOr404 = async (
    request: Req,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject> => {
    const o = await getOr404(namespace, name);
    const visible = deps.readFilter?.(user(request), info.kind);
    if (visible && !visible(o)) throw notFound(info, name);
    if (deps.readCheck && !(await deps.readCheck(user(request), o))) throw notFound(info, name);
    return o;
  };
  const ensureNamespace = async (namespace: string | undefined): Promise<void> => {
    if (!info.namespaced) return;
    const ns = await store.get({ kind: 'Namespace', name: namespace ?? '' });
    if (!ns)
      throw new NotFound(`namespaces "${namespace}" not found`, {
        name: namespace ?? '',
        group: '',
        kind: 'namespaces',
      });
  };
  const commit = (
    request: Req,
    w: Omit<WriteRequest, 'info' | 'user' | 'dryRun'>,
  ): Promise<WriteResult> =>
    admitAndCommit(deps, {
      ...w,
      info,
      user: user(request),
      dryRun: requestContext(request).dryRun,
    });
  const fieldWrite = (request: Req, scope: FieldScope): FieldWrite => ({
    manager: fieldManagerOf(request.query.fieldManager, request.headers['user-agent']),
    scope,
    statusIsSubresource: hasStatusSubresource(info.kind),
  });
  const respond = (
    reply: FastifyReply,
    code: number,
    result: WriteResult,
    fieldWarnings: string[] = [],
  ): KubeObject => {
    setWarnings(reply, [...fieldWarnings, ...result.warnings]);
    reply.code(code);
    return result.object;
  };

  // ---- collection: list / watch, create, deletecollection ----

  const list = async (request: Req, reply: FastifyReply): Promise<unknown> => {
    const { namespace } = request.params;
    const q = request.query;
    const watching = q.watch === 'true';
    const timeoutSeconds = integerParameter(q as Query, 'timeoutSeconds');
    const askedLimit = integerParameter(q as Query, 'limit');
    // apimachinery's ValidateListOptions: sendInitialEvents (any value) belongs to watches only.
    if (!watching && q.sendInitialEvents !== undefined)
      throw new Invalid(
        'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list',
        [
          {
            reason: 'FieldValueForbidden',
            message: 'Forbidden: sendInitialEvents is forbidden for list',
            field: 'sendInitialEvents',
          },
        ],
        { group: 'meta.k8s.io', kind: 'ListOptions', name: '' },
      );
    const visible = deps.readFilter?.(
      authorize(request, watching ? 'watch' : 'list', namespace),
      info.kind,
    );
    const selector = parseSelector(info.kind, q.labelSelector, q.fieldSelector);
    const table = tableOptionsOf(request);
    if (watching) {
      return serveWatch(request, reply, {
        store,
        info,
        ...(namespace !== undefined ? { namespace } : {}),
        selector,
        ...(visible ? { visible } : {}),
        ...(user(request).uid !== undefined ? { owner: user(request).uid } : {}),
        ...(q.resourceVersion !== undefined ? { resourceVersion: q.resourceVersion } : {}),
        // A zero or negative timeout is none asked for, as in kube-apiserver (which then picks its own).
        ...(timeoutSeconds !== undefined && timeoutSeconds > 0 ? { timeoutSeconds } : {}),
        ...(table ? { table } : {}),
        ...(q.sendInitialEvents === 'true' ? { sendInitialEvents: true } : {}),
        registry: deps.watches,
      });
    }
    const limit =
      askedLimit === undefined || askedLimit <= 0
        ? undefined
        : Math.min(askedLimit, deps.maxListLimit ?? Number.MAX_SAFE_INTEGER);
    const options: ListOptions = {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(q.continue ? { continue: q.continue } : {}),
    };
    if (selector.fields.length === 0 && !visible && !table) {
      const head = (meta: ReturnType<typeof listMeta>): string =>
        `{"kind":${JSON.stringify(info.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(info))},"metadata":${JSON.stringify(meta)},"items":[`;
      if (hasListEncoded(store)) {
        // The items' bytes as the store encoded them once: a 10,000-object list is then a copy, not parse + stringify;
        // a label selector is tested on the labels the store keeps beside them, so a selective list parses nothing.
        const encoded = await store.listEncoded(
          info.kind,
          selector.labels.length > 0
            ? { ...options, labels: labelsMatcher(selector.labels) }
            : options,
        );
        reply.type('application/json');
        return Buffer.concat([
          Buffer.from(head(listMeta(encoded)), 'utf8'),
          encoded.items,
          Buffer.from(']}', 'utf8'),
        ]);
      }
      if (selectsEverything(selector) && hasListRaw(store)) {
        // Forward the stored JSON text: a 10,000-object list is then string concatenation, not parse + stringify.
        const raw = await store.listRaw(info.kind, options);
        reply.type('application/json');
        return `${head(listMeta(raw))}${raw.json.join(',')}]}`;
      }
    }
    const matches = selectsEverything(selector)
      ? undefined
      : (o: KubeObject): boolean => selectorMatches(selector, o);
    const filter =
      visible && matches
        ? (o: KubeObject): boolean => visible(o) && matches(o)
        : (visible ?? matches);
    const result = await store.list(info.kind, { ...options, ...(filter ? { filter } : {}) });
    if (table) return toTable(info, result.items, listMeta(result), table);
    return {
      kind: info.listKind,
      apiVersion: apiVersionOf(info),
      metadata: listMeta(result),
      items: result.items,
    };
  };
  app.get(
    collection,
    { schema: { querystring: QUERY_SCHEMA }, config: config('list', false) },
    list,
  );
  if (info.namespaced) {
    app.get(
      `${prefix}/${info.plural}`,
      { schema: { querystring: QUERY_SCHEMA }, config: config('list', false) },
      list,
    );
  }

  app.post(
    collection,
    { schema: objectWrite, config: config('create', true) },
    async (request: Req, reply) => {
      if (!allows('create')) throw notAllowed('create');
      const incoming = incomingObject(request.body, info, { namespace: request.params.namespace });
      const fieldWarnings = checkFields(
        info,
        incoming,
        fieldValidationOf(request.query.fieldValidation),
      );
      const audit = requestContext(request).audit;
      if (audit && typeof incoming.metadata.name === 'string') audit.name = incoming.metadata.name;
      const object = prepareCreate(incoming, info);
      recordUpdate(object, undefined, fieldWrite(request, 'main'));
      const name = object.metadata.name;
      if (audit) audit.name = name;
      authorize(request, 'create', request.params.namespace, name);
      await ensureNamespace(request.params.namespace);
      const alreadyExists = async (): Promise<HarrowError | undefined> =>
        (await store.get(refOf(request.params.namespace, name)))
          ? new HarrowError(
              'AlreadyExists',
              409,
              `${qualifiedResource(info)} "${name}" already exists`,
              { name, group: info.group, kind: info.plural },
            )
          : undefined;
      // A dry run never reaches the store, so it looks the name up first.
      const exists = requestContext(request).dryRun ? await alreadyExists() : undefined;
      if (exists) throw exists;
      let created: WriteResult;
      try {
        created = await commit(request, {
          operation: 'create',
          object,
          verb: 'create',
          code: 201,
          ...refusalOf(request, object, undefined),
        });
      } catch (e) {
        // The store's create-if-absent answers AlreadyExists in the commit itself, with no read before it; when
        // admission refused first, the name is looked up so a create of an existing object is told that instead.
        if (e instanceof HarrowError && e.reason === 'AlreadyExists') throw e;
        throw (await alreadyExists()) ?? e;
      }
      return respond(reply, 201, created, fieldWarnings);
    },
  );

  app.delete(
    collection,
    { schema: { querystring: QUERY_SCHEMA }, config: config('deletecollection', true) },
    async (request: Req, reply) => {
      if (!allows('deletecollection')) throw notAllowed('deletecollection');
      const { namespace } = request.params;
      authorize(request, 'deletecollection', namespace);
      const selector = parseSelector(
        info.kind,
        request.query.labelSelector,
        request.query.fieldSelector,
      );
      const { items, resourceVersion } = await store.list(info.kind, {
        ...(namespace !== undefined ? { namespace } : {}),
        ...(selectsEverything(selector)
          ? {}
          : { filter: (o: KubeObject) => selectorMatches(selector, o) }),
      });
      const deleted: KubeObject[] = [];
      const warnings: string[] = [];
      for (const old of items) {
        if (info.kind === 'Namespace') await checkNamespaceDeletable(store, old.metadata.name);
        const r = await commit(request, {
          operation: 'delete',
          oldObject: old,
          verb: 'delete',
          code: 200,
        });
        deleted.push(r.object);
        warnings.push(...r.warnings);
      }
      setWarnings(reply, warnings);
      return {
        kind: info.listKind,
        apiVersion: apiVersionOf(info),
        metadata: { resourceVersion },
        items: deleted,
      };
    },
  );

  // ---- one object: get, replace, patch, delete ----

  app.get(
    item,
    { schema: { querystring: QUERY_SCHEMA }, config: config('get', false) },
    async (request: Req) => {
      const { namespace, name } = request.params;
      authorize(request, 'get', namespace, name);
      const object = await readOr404(request, namespace, name!);
      const table = tableOptionsOf(request);
      return table
        ? toTable(info, [object], { resourceVersion: object.metadata.resourceVersion ?? '' }, table)
        : object;
    },
  );

  app.put(
    item,
    { schema: objectWrite, config: config('update', true) },
    async (request: Req, reply) => {
      if (!allows('update')) throw notAllowed('update');
      const { namespace, name } = request.params;
      authorize(request, 'update', namespace, name);
      const object = incomingObject(request.body, info, { namespace, name: name! });
      const old = await getOr404(namespace, name!);
      const fieldWarnings = checkFields(
        info,
        object,
        fieldValidationOf(request.query.fieldValidation),
        old,
      );
      const rv = object.metadata.resourceVersion;
      if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion)
        throw modifiedConflict(info, name!);
      object.metadata.resourceVersion = old.metadata.resourceVersion;
      carryOverOnUpdate(object, old);
      recordUpdate(object, old, fieldWrite(request, 'main'));
      return respond(
        reply,
        200,
        await commit(request, {
          operation: 'update',
          object,
          oldObject: old,
          verb: 'update',
          code: 200,
          ...refusalOf(request, object, old),
        }),
        fieldWarnings,
      );
    },
  );

  // The object and its /status are patched alike; only what the patched object writes differs.
  const patchItem = async (
    request: Req,
    reply: FastifyReply,
    scope: FieldScope,
    write: (old: KubeObject, object: KubeObject) => Promise<WriteResult>,
  ): Promise<KubeObject> => {
    if (!allows('patch')) throw notAllowed('patch');
    const { namespace, name } = request.params;
    authorize(request, 'patch', namespace, name);
    const type = patchTypeOf(request.headers['content-type']);
    if (type === 'apply') {
      if (scope === 'main') return applyItem(request, reply);
      throw new BadRequest(
        `server-side apply to ${qualifiedResource(info)}/status is not served: apply the ${info.kind} itself, or patch its status with a merge or JSON patch`,
      );
    }
    if (request.query.force !== undefined)
      throw patchOptionsInvalid('force', 'Forbidden: may not be specified for non-apply patch');
    if (!bodyFits(request, type === 'json' ? JsonPatchSchema : ObjectPatchSchema))
      throw patchBodyRefusal(type, request.body);
    return respond(
      reply,
      200,
      await patchWithRetry(
        request.body,
        type,
        () => getOr404(namespace, name!),
        (old, patched) => write(old, incomingObject(patched, info, { namespace, name: name! })),
      ),
    );
  };
  const writeMainPatch = (
    request: Req,
  ): ((old: KubeObject, object: KubeObject) => Promise<WriteResult>) => {
    const write = async (old: KubeObject, object: KubeObject): Promise<WriteResult> => {
      // Only fields the patch brings in count: ones the stored object already had were judged when they came.
      const fieldWarnings = checkFields(
        info,
        object,
        fieldValidationOf(request.query.fieldValidation),
        old,
      );
      carryOverOnUpdate(object, old);
      recordUpdate(object, old, fieldWrite(request, 'main'));
      const result = await commit(request, {
        operation: 'update',
        object,
        oldObject: old,
        verb: 'patch',
        code: 200,
        ...refusalOf(undefined, object, old),
      });
      return { ...result, warnings: [...fieldWarnings, ...result.warnings] };
    };
    return write;
  };
  app.patch(item, { schema: patchWrite, config: config('patch', true) }, (request: Req, reply) =>
    patchItem(request, reply, 'main', writeMainPatch(request)),
  );

  /** Server-side apply: the applier's intent merged by field ownership; creates the object when it is absent. */
  const applyItem = async (request: Req, reply: FastifyReply): Promise<KubeObject> => {
    const { namespace, name } = request.params;
    const q = request.query;
    if (q.fieldManager === undefined || q.fieldManager === '')
      throw patchOptionsInvalid('fieldManager', 'Required value: is required for apply patch');
    const options = {
      ...fieldWrite(request, 'main'),
      force: q.force !== undefined && goQueryBoolean(q.force),
    };
    const body = request.body;
    if (!bodyFits(request, ApplyPatchSchema)) throw applyBodyRefusal(info, body);
    // The identity is checked (kind, apiVersion, namespace and name against the URL) as for any incoming object.
    const intent = incomingObject(structuredClone(body), info, { namespace, name: name! });
    for (let attempt = 1; ; attempt++) {
      const live = await store.get(refOf(namespace, name!));
      const rv = intent.metadata.resourceVersion;
      if (live && rv !== undefined && rv !== '' && rv !== live.metadata.resourceVersion)
        throw modifiedConflict(info, name!);
      const base: KubeObject = {
        apiVersion: apiVersionOf(info),
        kind: info.kind,
        metadata: { name: name!, ...(info.namespaced ? { namespace: namespace ?? '' } : {}) },
      };
      const object = incomingObject(serverSideApply(live, intent, base, options), info, {
        namespace,
        name: name!,
      });
      const fieldWarnings = checkFields(info, object, fieldValidationOf(q.fieldValidation), live);
      try {
        if (!live) {
          // As kube-apiserver does, an apply that creates needs the create permission as well.
          authorize(request, 'create', namespace, name);
          await ensureNamespace(namespace);
          prepareCreate(object, info);
          return respond(
            reply,
            201,
            await commit(request, {
              operation: 'create',
              object,
              verb: 'patch',
              code: 201,
              ...refusalOf(undefined, object, undefined),
            }),
            fieldWarnings,
          );
        }
        object.metadata.resourceVersion = live.metadata.resourceVersion;
        carryOverOnUpdate(object, live);
        return respond(
          reply,
          200,
          await commit(request, {
            operation: 'update',
            object,
            oldObject: live,
            verb: 'patch',
            code: 200,
            ...refusalOf(undefined, object, live),
          }),
          fieldWarnings,
        );
      } catch (e) {
        // A concurrent write won the race (the stored object moved, or appeared): apply again to what is there now.
        const raced =
          e instanceof HarrowError &&
          (e.reason === 'Conflict' || e.reason === 'AlreadyExists') &&
          !e.details.causes?.length;
        if (!raced || attempt >= PATCH_ATTEMPTS) throw e;
        const now = await store.get(refOf(namespace, name!));
        if (now?.metadata.resourceVersion === live?.metadata.resourceVersion) throw e;
      }
    }
  };

  app.delete(
    item,
    { schema: { querystring: QUERY_SCHEMA }, config: config('delete', true) },
    async (request: Req, reply) => {
      if (!allows('delete')) throw notAllowed('delete');
      const { namespace, name } = request.params;
      authorize(request, 'delete', namespace, name);
      // DeleteOptions from the query: a gracePeriodSeconds Go would not parse is 400, as in kube-apiserver.
      integerParameter(request.query as Query, 'gracePeriodSeconds');
      const options = deleteOptions(request.body);
      if (options.dryRun) requestContext(request).dryRun = true;
      const old = await getOr404(namespace, name!);
      if (options.uid !== undefined && options.uid !== old.metadata.uid) {
        throw new Conflict(
          `Precondition failed: UID in precondition: ${options.uid}, UID in object meta: ${old.metadata.uid ?? ''}`,
          { name: name!, group: info.group, kind: info.plural },
        );
      }
      if (
        options.resourceVersion !== undefined &&
        options.resourceVersion !== old.metadata.resourceVersion
      ) {
        throw new Conflict(
          `Operation cannot be fulfilled on ${qualifiedResource(info)} "${name}": the ResourceVersion in the precondition (${options.resourceVersion}) does not match the ResourceVersion in record (${old.metadata.resourceVersion ?? ''}). The object might have been modified`,
          { name: name!, group: info.group, kind: info.plural },
        );
      }
      if (info.kind === 'Namespace') await checkNamespaceDeletable(store, name!);
      return respond(
        reply,
        200,
        await commit(request, {
          operation: 'delete',
          oldObject: old,
          verb: 'delete',
          code: 200,
          ...(options.resourceVersion !== undefined
            ? { resourceVersion: options.resourceVersion }
            : {}),
        }),
      );
    },
  );

  // ---- /status ----

  if (!hasStatusSubresource(info.kind)) return;
  const statusPath = `${item}/status`;
  app.get(statusPath, { config: config('get', false) }, async (request: Req) => {
    const { namespace, name } = request.params;
    authorize(request, 'get', namespace, name);
    return readOr404(request, namespace, name!);
  });
  const writeStatus = (
    request: Req,
    old: KubeObject,
    status: unknown,
    rv: string | undefined,
    verb: string,
  ): Promise<WriteResult> => {
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion)
      throw modifiedConflict(info, old.metadata.name);
    const object = structuredClone(old);
    if (status === undefined) delete object.status;
    else object.status = status;
    recordUpdate(object, old, fieldWrite(request, 'status'));
    return commit(request, {
      operation: 'update',
      object,
      oldObject: old,
      verb,
      subresource: 'status',
      code: 200,
      ...refusalOf(undefined, object, old, 'status'),
    });
  };
  app.put(
    statusPath,
    { schema: objectWrite, config: config('update-status', true) },
    async (request: Req, reply) => {
      if (!allows('update')) throw notAllowed('update');
      const { namespace, name } = request.params;
      authorize(request, 'update', namespace, name);
      const object = incomingObject(request.body, info, { namespace, name: name! });
      const old = await getOr404(namespace, name!);
      return respond(
        reply,
        200,
        await writeStatus(
          request,
          old,
          object.status,
          object.metadata.resourceVersion,
          'update-status',
        ),
      );
    },
  );
  app.patch(
    statusPath,
    { schema: patchWrite, config: config('patch-status', true) },
    (request: Req, reply) =>
      patchItem(request, reply, 'status', (old, object) =>
        writeStatus(request, old, object.status, object.metadata.resourceVersion, 'patch-status'),
      ),
  );
}

function listMeta(r: { resourceVersion: string; continue?: string }): {
  resourceVersion: string;
  continue?: string;
} {
  return r.continue
    ? { resourceVersion: r.resourceVersion, continue: r.continue }
    : { resourceVersion: r.resourceVersion };
}

/** Whether a patch body names metadata.resourceVersion (then it is a precondition, and a conflict is the client's to resolve). */
function patchNamesResourceVersion(type: PatchType, body: unknown): boolean {
  if (type === 'json') {
    return (
      Array.isArray(body) &&
      body.some(
        (op) =>
          typeof op === 'object' &&
          op !== null &&
          (op as { path?: unknown }).path === '/metadata/resourceVersion',
      )
    );
  }
  const meta = (body as { metadata?: unknown } | null)?.metadata;
  return typeof meta === 'object' && meta !== null && 'resourceVersion' in meta;
}

const PATCH_ATTEMPTS = 5;

/** An apply body that is not an object naming its kind (400), in the words that say what to send instead. */
function applyBodyRefusal(info: KindInfo, body: unknown): BadRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return new BadRequest(
      `the body of an apply patch must be an object (a ${info.kind} manifest)${body === undefined ? ', and it is empty' : ''}`,
    );
  const field =
    typeof (body as Record<string, unknown>).apiVersion !== 'string' ? 'apiVersion' : 'kind';
  return new BadRequest(
    `the apply patch must set ${field} (${field === 'kind' ? info.kind : apiVersionOf(info)})`,
  );
}

/** kube-apiserver's refusal of PatchOptions (fieldManager, force) as a 422 naming the option. */
function patchOptionsInvalid(field: string, detail: string): Invalid {
  return new Invalid(
    `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${detail}`,
    [
      {
        reason: detail.startsWith('Required') ? 'FieldValueRequired' : 'FieldValueForbidden',
        message: detail,
        field,
      },
    ],
    { group: 'meta.k8s.io', kind: 'PatchOptions', name: '' },
  );
}

/** As the Kubernetes apiserver does, a patch without a resourceVersion is re-applied to the latest object when a concurrent write won. */
async function patchWithRetry(
  body: unknown,
  type: Exclude<PatchType, 'apply'>,
  load: () => Promise<KubeObject>,
  write: (old: KubeObject, patched: unknown) => Promise<WriteResult>,
): Promise<WriteResult> {
  const retry = !patchNamesResourceVersion(type, body);
  for (let attempt = 1; ; attempt++) {
    const old = await load();
    const patched = applyPatch(type, old, body);
    try {
      return await write(old, patched);
    } catch (e) {
      if (
        !(e instanceof HarrowError) ||
        e.reason !== 'Conflict' ||
        !retry ||
        attempt >= PATCH_ATTEMPTS
      )
        throw e;
      const now = await load();
      if (now.metadata.resourceVersion === old.metadata.resourceVersion) throw e;
    }
  }
}

interface DeleteOptions {
  dryRun: boolean;
  resourceVersion?: string;
  uid?: string;
}

function deleteOptions(body: unknown): DeleteOptions {
  if (body === undefined || body === null || body === '') return { dryRun: false };
  if (typeof body !== 'object' || Array.isArray(body))
    throw new BadRequest('the body of a delete must be a DeleteOptions object');
  const b = body as {
    dryRun?: unknown;
    preconditions?: { resourceVersion?: unknown; uid?: unknown } | null;
  };
  const dryRun = Array.isArray(b.dryRun) ? b.dryRun.map(String) : [];
  for (const d of dryRun) dryRunOf(d);
  const pre = b.preconditions ?? {};
  return {
    dryRun: dryRun.includes('All'),
    ...(typeof pre.resourceVersion === 'string' && pre.resourceVersion !== ''
      ? { resourceVersion: pre.resourceVersion }
      : {}),
    ...(typeof pre.uid === 'string' && pre.uid !== '' ? { uid: pre.uid } : {}),
  };
}

/**
 * Kubernetes empties a namespace asynchronously (a namespace controller and finalizers); Harrow has none, so a namespace
 * is deleted only once it is empty — said plainly instead of leaving it Terminating. `default` is never deleted.
 */
async function checkNamespaceDeletable(store: ResourceStore, name: string): Promise<void> {
  if (name === 'default') {
    throw new Forbidden('namespaces "default" is forbidden: this namespace may not be deleted', {
      name,
      group: '',
      kind: 'namespaces',
    });
  }
  const held: string[] = [];
  for (const info of KINDS) {
    if (!info.namespaced || NAMESPACE_LEFTOVERS.has(info.kind)) continue;
    const { items } = await store.list(info.kind, { namespace: name, limit: 1 });
    if (items.length > 0) held.push(`${info.kind} "${items[0]!.metadata.name}"`);
  }
  if (held.length > 0) {
    throw new Conflict(
      `namespace "${name}" is not empty: it still holds ${held.join(', ')}; delete its contents first`,
      {
        name,
        group: '',
        kind: 'namespaces',
      },
    );
  }
}
