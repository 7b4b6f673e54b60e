// Shared setup of the apiserver tests: a real SQLite store in memory, the server, and inject helpers.
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { UserInfo } from '../../src/apiserver/admission/types.ts';
import { staticTokenAuthenticator } from '../../src/apiserver/auth.ts';
import { createApiServer, type ApiServerDeps } from '../../src/apiserver/server.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';

export const TOKEN = 'test-token-0123456789abcdef';
export const ALICE: UserInfo = { name: 'alice', groups: ['system:authenticated'] };

/** Every shape an API answer takes (object, list, Status), so assertions read fields without casts. */
export interface ApiBody extends KubeObject {
  items: KubeObject[];
  code: number;
  reason: string;
  message: string;
  details: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ field: string; reason: string; message: string }>;
  };
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  /** The parsed JSON body ({} when empty or not JSON). */
  json: ApiBody;
}

export interface Harness {
  app: FastifyInstance;
  store: SqliteStore;
  request(
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function startServer(deps: Partial<ApiServerDeps> = {}): Promise<Harness> {
  const store = await openSqliteStore(':memory:');
  const app = await createApiServer({
    store,
    admission: [],
    authenticator: staticTokenAuthenticator([{ token: TOKEN, user: ALICE }]),
    ...deps,
  });
  return {
    app,
    store,
    async request(method, url, body, headers = {}) {
      const r = await app.inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body !== undefined && typeof body !== 'string'
            ? { 'content-type': 'application/json' }
            : {}),
          ...headers,
        },
        ...(body !== undefined
          ? { payload: typeof body === 'string' ? body : JSON.stringify(body) }
          : {}),
      });
      let json: unknown;
      try {
        json = r.body === '' ? {} : JSON.parse(r.body);
      } catch {
        json = {};
      }
      return { status: r.statusCode, headers: r.headers, body: r.body, json: json as ApiBody };
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export function vmManifest(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, labels: { app: 'web' } },
    spec: {
      runStrategy: 'Halted',
      template: {
        spec: {
          domain: {
            devices: { interfaces: [{ name: 'default', masquerade: {} }] },
            memory: { guest: '128Mi' },
          },
          networks: [{ name: 'default', pod: {} }],
        },
      },
      ...spec,
    },
  };
}

export const VMS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines';
export const VMIS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances';

/** The AuditRecords stored so far, oldest first. */
export async function auditRecords(store: SqliteStore): Promise<KubeObject[]> {
  return (await store.list('AuditRecord')).items.sort(
    (a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion),
  );
}
