// The field-level old → new list an audit record carries when no admission plugin described the change itself.
import type { KubeObject } from '../resources/meta.ts';

export interface FieldChange {
  field: string;
  old?: unknown;
  new?: unknown;
}

/** Server-maintained or bulky bookkeeping that says nothing about what the user changed. */
const IGNORED = new Set([
  'metadata.resourceVersion',
  'metadata.generation',
  'metadata.uid',
  'metadata.creationTimestamp',
  'metadata.managedFields',
  'metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]',
]);

const MAX_CHANGES = 50;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const child = (path: string, key: string): string =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)
    ? path === ''
      ? key
      : `${path}.${key}`
    : `${path}[${JSON.stringify(key)}]`;

/** Leaf-level differences between two objects, with paths like `spec.template.spec.domain.devices.interfaces[0].macAddress`. */
export function diffObjects(
  oldObject: KubeObject | undefined,
  newObject: KubeObject | undefined,
): FieldChange[] {
  const out: FieldChange[] = [];
  let truncated = false;
  const visit = (path: string, a: unknown, b: unknown): void => {
    if (IGNORED.has(path)) return;
    if (out.length >= MAX_CHANGES) {
      truncated = true;
      return;
    }
    if (isObject(a) && isObject(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
        visit(child(path, k), a[k], b[k]);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((x, i) => visit(`${path}[${i}]`, x, b[i]));
      return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    out.push({
      field: path,
      ...(a !== undefined ? { old: a } : {}),
      ...(b !== undefined ? { new: b } : {}),
    });
  };
  visit('', oldObject, newObject);
  if (truncated) out.push({ field: '…', new: `more than ${MAX_CHANGES} fields changed` });
  return out;
}
