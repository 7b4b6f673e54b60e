// /openapi/v3 (index and one document per group/version, from kinds.ts and openapi-schemas.ts) for kubectl explain and field validation; /openapi/v2 without schemas.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { NotFound } from '../resources/errors.ts';
import { KINDS, type KindInfo, type Verb } from '../resources/kinds.ts';
import { GIT_VERSION } from './discovery.ts';
import { KIND_SCHEMAS, LIST_META, META_SCHEMAS, ref, type Schema } from './openapi-schemas.ts';

const PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/** Length-delimited protobuf field (wire type 2). */
function field(number: number, payload: Buffer): Buffer {
  const length: number[] = [];
  let n = payload.length;
  do {
    length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...length]), payload]);
}

/** gnostic's openapi_v2.Document { swagger = 1; info = 2 { title = 1; version = 2 } }, the form kubectl asks for. */
const protobufDocument = Buffer.concat([
  field(1, Buffer.from('2.0')),
  field(2, Buffer.concat([field(1, Buffer.from('Harrow')), field(2, Buffer.from(GIT_VERSION))])),
]);

// v2 stays without schemas: kubectl 1.32 reads v3 for explain and for the fieldValidation check, and falls back to v2
// only when v3 fails; a v2 without a kind's schema makes it skip client-side checks rather than contradict v3.
const jsonDocument = {
  swagger: '2.0',
  info: { title: 'Harrow', version: GIT_VERSION },
  paths: {},
  definitions: {},
};

/** `io.kubevirt.v1.VirtualMachine`, `io.k8s.api.core.v1.Pod`: Kubernetes' reverse-DNS schema names. */
export function schemaName(
  info: Pick<KindInfo, 'group' | 'version' | 'kind'>,
  kind = info.kind,
): string {
  const prefix = info.group === '' ? 'io.k8s.api.core' : info.group.split('.').reverse().join('.');
  return `${prefix}.${info.version}.${kind}`;
}

/** `api/v1`, `apis/kubevirt.io/v1`: the keys of the /openapi/v3 index. */
const gvPath = (info: Pick<KindInfo, 'group' | 'version'>): string =>
  info.group === '' ? `api/${info.version}` : `apis/${info.group}/${info.version}`;

const gvkOf = (info: KindInfo): { group: string; version: string; kind: string } => ({
  group: info.group,
  version: info.version,
  kind: info.kind,
});

const queryParam = (
  name: string,
  description: string,
  type: 'string' | 'boolean' | 'integer' = 'string',
): Record<string, unknown> => ({
  name,
  in: 'query',
  description,
  schema: { type, uniqueItems: true },
});
const pathParam = (name: string, description: string): Record<string, unknown> => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', uniqueItems: true },
});

const DRY_RUN = queryParam('dryRun', 'All: run admission and validation, store nothing.');
const FIELD_MANAGER = queryParam('fieldManager', 'Name of the actor making the change.');
const FORCE = queryParam(
  'force',
  'Server-side apply: take over the fields other managers own.',
  'boolean',
);
// Its presence on the PATCH operation is how kubectl learns that the server validates fields, so it skips its own check.
const FIELD_VALIDATION = queryParam(
  'fieldValidation',
  'Unknown fields outside objects that keep them: Ignore, Warn (default) or Strict (rejected).',
);

const content = (schema: Schema): Record<string, unknown> => ({
  'application/json': { schema },
  'application/yaml': { schema },
});
const schemaRef = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

function operation(
  info: KindInfo,
  action: string,
  id: string,
  description: string,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return {
    tags: [info.group === '' ? 'core_v1' : `${info.group}_${info.version}`],
    description,
    operationId: `${id}${info.kind}`,
    ...extra,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvkOf(info),
  };
}

/** The paths of one kind: collection (list, create) and item (get, replace, patch, delete) as its verbs allow. */
function kindPaths(info: KindInfo): Record<string, unknown> {
  const allows = (v: Verb): boolean => info.verbs.includes(v);
  const object = schemaName(info);
  const ok = (name: string): Record<string, unknown> => ({
    responses: { '200': { description: 'OK', content: content(schemaRef(name)) } },
  });
  const body = { requestBody: { required: true, content: content(schemaRef(object)) } };
  const patchBody = {
    requestBody: {
      required: true,
      content: Object.fromEntries(
        [
          'application/json-patch+json',
          'application/merge-patch+json',
          'application/strategic-merge-patch+json',
          'application/apply-patch+yaml',
        ].map((t) => [
          t,
          { schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        ]),
      ),
    },
  };
  const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  const collection = info.namespaced
    ? `${base}/namespaces/{namespace}/${info.plural}`
    : `${base}/${info.plural}`;
  const scoped = info.namespaced ? [pathParam('namespace', 'The namespace.')] : [];
  const what = info.namespaced ? `a namespaced ${info.kind}` : `a ${info.kind}`;

  const collectionItem: Record<string, unknown> = { parameters: scoped };
  if (allows('list'))
    collectionItem.get = operation(
      info,
      'list',
      info.namespaced ? 'listNamespaced' : 'list',
      `list or watch ${info.kind} objects`,
      ok(schemaName(info, info.listKind)),
    );
  if (allows('create'))
    collectionItem.post = operation(
      info,
      'post',
      info.namespaced ? 'createNamespaced' : 'create',
      `create ${what}`,
      { ...body, parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION], ...ok(object) },
    );

  const item: Record<string, unknown> = {
    parameters: [pathParam('name', `Name of the ${info.kind}.`), ...scoped],
  };
  const itemId = (verb: string): string => `${verb}${info.namespaced ? 'Namespaced' : ''}`;
  if (allows('get')) item.get = operation(info, 'get', itemId('read'), `read ${what}`, ok(object));
  if (allows('update'))
    item.put = operation(info, 'put', itemId('replace'), `replace ${what}`, {
      ...body,
      parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
      ...ok(object),
    });
  if (allows('patch'))
    item.patch = operation(info, 'patch', itemId('patch'), `partially update ${what}`, {
      ...patchBody,
      parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE],
      ...ok(object),
    });
  if (allows('delete'))
    item.delete = operation(info, 'delete', itemId('delete'), `delete ${what}`, {
      parameters: [DRY_RUN],
      ...ok(object),
    });
  return { [collection]: collectionItem, [`${collection}/{name}`]: item };
}

function listSchema(info: KindInfo): Schema {
  return {
    type: 'object',
    description: `A list of ${info.kind} objects.`,
    required: ['items'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion of the list.' },
      kind: { type: 'string', description: 'Kind of the list.' },
      metadata: ref(LIST_META, 'Standard list metadata.'),
      items: {
        type: 'array',
        description: `The ${info.kind} objects.`,
        items: schemaRef(schemaName(info)),
      },
    },
    'x-kubernetes-group-version-kind': [
      { group: info.group, version: info.version, kind: info.listKind },
    ],
  };
}

/** The root schema of a kind, with its GVK extension (what kubectl explain looks it up by). */
export function kindSchema(info: KindInfo): Schema {
  const schema = KIND_SCHEMAS[info.kind];
  if (!schema) throw new Error(`no OpenAPI schema for ${info.kind}`);
  return { ...schema, 'x-kubernetes-group-version-kind': [gvkOf(info)] };
}

/** The OpenAPI v3 document of one group/version. */
export function groupVersionDocument(group: string, version: string): Record<string, unknown> {
  const kinds = KINDS.filter((k) => k.group === group && k.version === version);
  const schemas: Record<string, Schema> = { ...META_SCHEMAS };
  let paths: Record<string, unknown> = {};
  for (const info of kinds) {
    schemas[schemaName(info)] = kindSchema(info);
    schemas[schemaName(info, info.listKind)] = listSchema(info);
    paths = { ...paths, ...kindPaths(info) };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Harrow', version: GIT_VERSION },
    paths,
    components: { schemas },
  };
}

interface ServedDocument {
  json: string;
  hash: string;
}

/** Every group/version's document, serialised once (kinds are fixed at start), with the hash the index links by. */
function servedDocuments(): Map<string, ServedDocument> {
  const out = new Map<string, ServedDocument>();
  for (const info of KINDS) {
    const path = gvPath(info);
    if (out.has(path)) continue;
    const json = JSON.stringify(groupVersionDocument(info.group, info.version));
    out.set(path, {
      json,
      hash: createHash('sha512').update(json).digest('hex').toUpperCase().slice(0, 128),
    });
  }
  return out;
}

export function registerOpenApi(app: FastifyInstance): void {
  app.get('/openapi/v2', async (request, reply) => {
    if ((request.headers.accept ?? '').includes(PROTOBUF)) {
      reply.header('Content-Type', PROTOBUF);
      return protobufDocument;
    }
    return jsonDocument;
  });

  const documents = servedDocuments();
  const index = JSON.stringify({
    paths: Object.fromEntries(
      [...documents].map(([path, d]) => [
        path,
        { serverRelativeURL: `/openapi/v3/${path}?hash=${d.hash}` },
      ]),
    ),
  });
  app.get('/openapi/v3', async (_request, reply) => reply.type('application/json').send(index));
  app.get<{ Params: { '*': string }; Querystring: { hash?: string } }>(
    '/openapi/v3/*',
    async (request, reply) => {
      const doc = documents.get(request.params['*']);
      if (!doc)
        throw new NotFound(
          `the server could not find the requested resource (GET /openapi/v3/${request.params['*']})`,
        );
      reply.header('ETag', `"${doc.hash}"`);
      // A hashed URL names one content forever (kubectl caches it on disk); the bare one may change with the server.
      reply.header(
        'Cache-Control',
        request.query.hash === doc.hash ? 'public, immutable' : 'no-cache, private',
      );
      return reply.type('application/json').send(doc.json);
    },
  );
}
