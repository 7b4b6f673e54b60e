// The one protobuf body kubectl sends that Harrow reads: a Namespace (`kubectl create namespace`), decoded to JSON.
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

/** Decodes `k8s\0` + runtime.Unknown{typeMeta, raw}; only a v1 Namespace is understood (its ObjectMeta and spec.finalizers). */
export function decodeProtobufObject(body: Buffer): KubeObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC))
    throw malformed('it does not start with the Kubernetes protobuf magic');
  const unknown = fields(body.subarray(MAGIC.length));
  const typeMeta = message(unknown, 1);
  const apiVersion = first(typeMeta, 1) ?? '';
  const kind = first(typeMeta, 2) ?? '';
  if (apiVersion !== 'v1' || kind !== 'Namespace') {
    throw new HarrowError(
      'UnsupportedMediaType',
      415,
      `protobuf bodies are understood only for v1 Namespace, not ${apiVersion} ${kind}: send JSON or YAML (kubectl create -f / kubectl apply -f)`,
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
