// The protobuf bodies kubectl sends that Harrow reads, decoded to JSON: a Namespace (`kubectl create namespace`) and the
// access reviews (`kubectl auth can-i [--list]`).
import { HarrowError } from '../resources/errors.ts';
import type { KubeObject } from '../resources/meta.ts';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** Kubernetes prefixes every protobuf-encoded object with this magic before its runtime.Unknown envelope. */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface Field {
  number: number;
  /** Length-delimited payload (wire type 2), or undefined for varints and fixed-size values. */
  bytes?: Buffer;
}

const malformed = (why: string): HarrowError =>
  new HarrowError('BadRequest', 400, `the protobuf request body is malformed: ${why}`);

function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw malformed('truncated varint');
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const [key, next] = readVarint(buf, at);
    at = next;
    const number = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        at = readVarint(buf, at)[1];
        out.push({ number });
        break;
      case 1:
        at += 8;
        out.push({ number });
        break;
      case 2: {
        const [length, start] = readVarint(buf, at);
        if (start + length > buf.length) throw malformed('a field runs past the end of the body');
        out.push({ number, bytes: buf.subarray(start, start + length) });
        at = start + length;
        break;
      }
      case 5:
        at += 4;
        out.push({ number });
        break;
      default:
        throw malformed(`unsupported wire type ${key & 7}`);
    }
  }
  return out;
}

const strings = (fs: Field[], n: number): string[] =>
  fs.filter((f) => f.number === n && f.bytes).map((f) => f.bytes!.toString('utf8'));
const first = (fs: Field[], n: number): string | undefined => strings(fs, n)[0];
const message = (fs: Field[], n: number): Field[] => {
  const f = fs.find((x) => x.number === n && x.bytes);
  return f ? fields(f.bytes!) : [];
};

function stringMap(fs: Field[], n: number): Record<string, string> | undefined {
  const entries = fs.filter((f) => f.number === n && f.bytes).map((f) => fields(f.bytes!));
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map((e) => [first(e, 1) ?? '', first(e, 2) ?? '']));
}

/** Strings of a message by field number, the empty ones left out (protobuf omits them too). */
function stringFields(fs: Field[], names: Record<number, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [n, name] of Object.entries(names)) {
    const v = first(fs, Number(n));
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

/** authorization.k8s.io/v1 ResourceAttributes and NonResourceAttributes (generated.proto field numbers). */
const RESOURCE_ATTRIBUTES = {
  1: 'namespace',
  2: 'verb',
  3: 'group',
  4: 'version',
  5: 'resource',
  6: 'subresource',
  7: 'name',
};
const NON_RESOURCE_ATTRIBUTES = { 1: 'path', 2: 'verb' };

/** SelfSubjectAccessReview{metadata 1, spec 2{resourceAttributes 1, nonResourceAttributes 2}} or SelfSubjectRulesReview{spec 2{namespace 1}}. */
function decodeReview(kind: string, raw: Field[]): KubeObject {
  const spec = message(raw, 2);
  const has = (n: number): boolean => spec.some((f) => f.number === n && f.bytes);
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind,
    metadata: { name: '' },
    spec:
      kind === 'SelfSubjectRulesReview'
        ? stringFields(spec, { 1: 'namespace' })
        : {
            ...(has(1)
              ? { resourceAttributes: stringFields(message(spec, 1), RESOURCE_ATTRIBUTES) }
              : {}),
            ...(has(2)
              ? { nonResourceAttributes: stringFields(message(spec, 2), NON_RESOURCE_ATTRIBUTES) }
              : {}),
          },
  } as KubeObject;
}

const REVIEWS = new Set(['SelfSubjectAccessReview', 'SelfSubjectRulesReview']);

/** Decodes `k8s\0` + runtime.Unknown{typeMeta, raw}: a v1 Namespace (its ObjectMeta and spec.finalizers) or a review. */
export function decodeProtobufObject(body: Buffer): KubeObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC))
    throw malformed('it does not start with the Kubernetes protobuf magic');
  const unknown = fields(body.subarray(MAGIC.length));
  const typeMeta = message(unknown, 1);
  const apiVersion = first(typeMeta, 1) ?? '';
  const kind = first(typeMeta, 2) ?? '';
  if (apiVersion === 'authorization.k8s.io/v1' && REVIEWS.has(kind))
    return decodeReview(kind, message(unknown, 2));
  if (apiVersion !== 'v1' || kind !== 'Namespace') {
    throw new HarrowError(
      'UnsupportedMediaType',
      415,
      `protobuf bodies are understood only for v1 Namespace and authorization.k8s.io/v1 self-reviews, not ${apiVersion} ${kind}: send JSON or YAML (kubectl create -f / kubectl apply -f)`,
    );
  }
  const raw = message(unknown, 2);
  const meta = message(raw, 1);
  const labels = stringMap(meta, 11);
  const annotations = stringMap(meta, 12);
  const finalizers = strings(meta, 14);
  const specFinalizers = strings(message(raw, 2), 1);
  const generateName = first(meta, 2);
  return {
    apiVersion,
    kind,
    metadata: {
      name: first(meta, 1) ?? '',
      ...(generateName ? { generateName } : {}),
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
      ...(finalizers.length > 0 ? { finalizers } : {}),
    },
    ...(specFinalizers.length > 0 ? { spec: { finalizers: specFinalizers } } : {}),
  };
}
