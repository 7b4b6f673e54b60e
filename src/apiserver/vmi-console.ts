// KubeVirt's serial console: the `console` subresource (a WebSocket, subprotocol plain.kubevirt.io, the serial port's
// bytes in binary frames both ways) and the serial log as KubeVirt keeps it, the launcher pod's `guest-console-log`
// container (`GET /api/v1/namespaces/NS/pods/POD/log?container=guest-console-log`, what `kubectl logs` asks).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket';
import type { RawData, WebSocket } from 'ws';
import { auditRecord } from '../audit/record.ts';
import { BadRequest, Forbidden, Invalid, fieldInvalid } from '../resources/errors.ts';
import { kindInfo } from '../resources/kinds.ts';
import type { KubeObject } from '../resources/meta.ts';
import {
  CONSOLE_SUBPROTOCOL,
  CONTAINER_GUEST_CONSOLE_LOG,
  LABEL_CREATED_BY,
} from '../resources/types.ts';
import type { ConsoleConnection } from '../runtime/types.ts';
import { requestUser } from './request-context.ts';
import { runningVmi, type VmiSubresourceDeps } from './vmi-subresources.ts';
import { notFound } from './writes.ts';

/** WebSocket close reasons are limited to 123 bytes. */
const closeReason = (text: string): string => {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= 123 ? text : `${bytes.subarray(0, 120).toString('utf8')}...`;
};

type ConsoleRequest = FastifyRequest<{ Params: { namespace: string; name: string } }>;
type PodLogRequest = FastifyRequest<{
  Params: { namespace: string; name: string };
  Querystring: Record<string, string | undefined>;
}>;

const rawBytes = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

/** A non-negative whole number from the query, or Invalid naming the parameter. */
function wholeNumber(query: Record<string, string | undefined>, field: string): number | undefined {
  const text = query[field];
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text))
    throw new Invalid(`${field}: must be a whole number >= 0`, [
      fieldInvalid(field, 'must be a whole number >= 0'),
    ]);
  return Number(text);
}

/** The last `lines` lines of a log (a trailing newline does not start an empty line). */
export function tailLines(text: string, lines: number): string {
  if (lines === 0) return '';
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const parts = body.split('\n');
  const kept = parts.slice(Math.max(0, parts.length - lines)).join('\n');
  return text.endsWith('\n') ? `${kept}\n` : kept;
}

export function registerVmiConsole(app: FastifyInstance, deps: VmiSubresourceDeps): void {
  const consoles = new WeakMap<FastifyRequest, { uid: string }>();

  app.route({
    method: 'GET',
    url: '/apis/subresources.kubevirt.io/v1/namespaces/:namespace/virtualmachineinstances/:name/console',
    config: { harrow: { kind: 'VirtualMachineInstance', verb: 'console', audited: true } },
    // Refusals happen here, before the upgrade, so that the client reads them as an HTTP Status.
    preHandler: async (request: ConsoleRequest) => {
      const { vmi, runtime } = await runningVmi(
        deps,
        request.params,
        requestUser(request),
        'console',
      );
      const uid = vmi.metadata.uid ?? '';
      const observation = await runtime.observe(uid);
      if (!observation || (observation.state !== 'Running' && observation.state !== 'Starting'))
        throw new BadRequest(
          `VirtualMachineInstance "${request.params.name}": VMI is not running on any node (guest ${observation?.state ?? 'absent'})`,
        );
      consoles.set(request, { uid });
    },
    // A plain GET that passed every check: it was not an upgrade, as the Kubernetes apiserver says for its streams.
    handler: async () => {
      throw new BadRequest(
        `the console is a WebSocket: send an Upgrade request with subprotocol ${CONSOLE_SUBPROTOCOL}`,
      );
    },
    wsHandler: (socket: WebSocket, request: ConsoleRequest) => {
      const { namespace, name } = request.params;
      const target = consoles.get(request);
      const runtime = deps.runtime;
      if (!target || !runtime) {
        socket.close(1011, 'console: the request was not prepared');
        return;
      }
      const log = request.log.child({ namespace, vmi: name });
      let connection: ConsoleConnection | undefined;
      const early: Buffer[] = [];
      let ended = false;
      socket.on('message', (data: RawData) => {
        const bytes = rawBytes(data);
        if (connection) connection.write(bytes);
        else early.push(bytes);
      });
      socket.on('close', () => {
        ended = true;
        connection?.close();
      });
      socket.on('error', () => socket.terminate());
      void (async () => {
        try {
          connection = await runtime.openConsole(target.uid, {
            onData: (chunk) => {
              if (socket.readyState === socket.OPEN) socket.send(chunk, { binary: true });
            },
            onClose: (reason) => {
              if (socket.readyState === socket.OPEN) socket.close(1000, closeReason(reason));
            },
          });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (socket.readyState === socket.OPEN) socket.close(1011, closeReason(message));
          return;
        }
        if (ended) return connection.close();
        for (const bytes of early.splice(0)) connection.write(bytes);
        log.info('console connected');
        await deps.store
          .create(
            auditRecord({
              user: requestUser(request).name,
              verb: 'console',
              resource: { kind: 'VirtualMachineInstance', namespace, name },
              outcome: { code: 101, message: 'serial console connected' },
            }),
          )
          .catch((e: unknown) =>
            log.error({ err: e }, 'could not write the audit record of a console connection'),
          );
      })();
    },
  });

  const podInfo = kindInfo('Pod');
  app.get(
    '/api/v1/namespaces/:namespace/pods/:name/log',
    { config: { harrow: { kind: 'Pod', verb: 'log', audited: false } } },
    async (request: PodLogRequest, reply) => {
      const { namespace, name } = request.params;
      const user = requestUser(request);
      if (!deps.authorize(user, 'log', 'Pod', namespace, name)) {
        throw new Forbidden(
          `pods "${name}" is forbidden: User "${user.name}" cannot get resource "pods/log" in the namespace "${namespace}"`,
          { name, group: '', kind: 'pods' },
        );
      }
      const query = request.query;
      const limitBytes = wholeNumber(query, 'limitBytes');
      const lines = wholeNumber(query, 'tailLines');
      if (limitBytes === 0)
        throw new Invalid('limitBytes: must be greater than 0', [
          fieldInvalid('limitBytes', 'must be greater than 0'),
        ]);
      const pod = (await deps.store.get({ kind: 'Pod', namespace, name })) as
        KubeObject | undefined;
      if (!pod) throw notFound(podInfo, name);
      const containers = (
        (pod as { spec?: { containers?: Array<{ name?: string }> } }).spec?.containers ?? []
      ).map((c) => c.name ?? '');
      const container = query.container ?? CONTAINER_GUEST_CONSOLE_LOG;
      if (container !== CONTAINER_GUEST_CONSOLE_LOG) {
        throw new BadRequest(
          `container ${container} of pod ${name}: Harrow keeps no log for it; the guest's serial console log is container ${CONTAINER_GUEST_CONSOLE_LOG} (containers: ${[...new Set([...containers, CONTAINER_GUEST_CONSOLE_LOG])].join(', ')})`,
        );
      }
      const uid = pod.metadata.labels?.[LABEL_CREATED_BY];
      if (!deps.runtime)
        throw new BadRequest('this server has no runtime attached: it keeps no guest logs');
      const text = uid ? await deps.runtime.consoleLog(uid) : undefined;
      if (text === undefined)
        throw new BadRequest(
          `pod ${name}: its guest is not on any node any more (or not yet): there is no serial log to read`,
        );
      let body = lines !== undefined ? tailLines(text, lines) : text;
      if (limitBytes !== undefined) {
        const bytes = Buffer.from(body, 'utf8');
        if (bytes.length > limitBytes) body = bytes.subarray(0, limitBytes).toString('utf8');
      }
      return reply.type('text/plain; charset=utf-8').send(body);
    },
  );
}
