// `kubectl create namespace` sends protobuf: the Namespace is read from it; any other protobuf body is a clear 415.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { decodeProtobufObject } from '../../src/apiserver/protobuf.ts';
import { HarrowError } from '../../src/resources/errors.ts';
import { startServer, type Harness } from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The body kubectl v1.32 sent for `kubectl create namespace foo`, byte for byte. */
const KUBECTL_CREATE_NS_FOO = Buffer.from(
  '6b3873000a0f0a02763112094e616d657370616365121b0a130a03666f6f12001a0022002a0032003800420012001a020a001a002200',
  'hex',
);

const field = (n: number, payload: Buffer | string): Buffer => {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  return Buffer.concat([Buffer.from([(n << 3) | 2, p.length]), p]);
};
const envelope = (apiVersion: string, kind: string, raw: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from('k8s\u0000', 'latin1'),
    field(1, Buffer.concat([field(1, apiVersion), field(2, kind)])),
    field(2, raw),
  ]);

describe('protobuf bodies', () => {
  it('decodes the Namespace kubectl create namespace sends', () => {
    assert.deepEqual(decodeProtobufObject(KUBECTL_CREATE_NS_FOO), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'foo' },
    });
  });

  it('decodes labels, annotations and finalizers', () => {
    const meta = Buffer.concat([
      field(1, 'team'),
      field(11, Buffer.concat([field(1, 'env'), field(2, 'prod')])),
      field(12, Buffer.concat([field(1, 'harrow.io/mac-pool-admission'), field(2, 'false')])),
    ]);
    const raw = Buffer.concat([field(1, meta), field(2, field(1, 'kubernetes'))]);
    assert.deepEqual(decodeProtobufObject(envelope('v1', 'Namespace', raw)), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'team',
        labels: { env: 'prod' },
        annotations: { 'harrow.io/mac-pool-admission': 'false' },
      },
      spec: { finalizers: ['kubernetes'] },
    });
  });

  it('creates the namespace through the API, and answers 415 for other kinds and 400 for garbage', async () => {
    h = await startServer();
    const r = await h.request(
      'POST',
      '/api/v1/namespaces',
      KUBECTL_CREATE_NS_FOO.toString('latin1'),
      { 'content-type': 'application/vnd.kubernetes.protobuf' },
    );
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json.metadata.name, 'foo');
    assert.deepEqual(r.json.status, { phase: 'Active' });
    assert.throws(
      () => decodeProtobufObject(envelope('v1', 'Pod', Buffer.alloc(0))),
      (e: HarrowError) => e.code === 415 && /only for v1 Namespace/.test(e.message),
    );
    assert.throws(
      () => decodeProtobufObject(Buffer.from('{"json":true}')),
      (e: HarrowError) => e.code === 400,
    );
  });
});
