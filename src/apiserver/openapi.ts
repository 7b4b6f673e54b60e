// /openapi/v2 without schemas: kubectl downloads it before validating a manifest and, finding no schema for a kind, leaves checking to the server.
import type { FastifyInstance } from 'fastify';
import { GIT_VERSION } from './discovery.ts';

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

const jsonDocument = { swagger: '2.0', info: { title: 'Harrow', version: GIT_VERSION }, paths: {}, definitions: {} };

export function registerOpenApi(app: FastifyInstance): void {
  app.get('/openapi/v2', async (request, reply) => {
    if ((request.headers.accept ?? '').includes(PROTOBUF)) {
      reply.header('Content-Type', PROTOBUF);
      return protobufDocument;
    }
    return jsonDocument;
  });
}
