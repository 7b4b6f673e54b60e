// Kubernetes label and field selectors: parsed once per request into predicates over objects.
import { BadRequest } from '../resources/errors.ts';
import type { KubeObject } from '../resources/meta.ts';

export type LabelOperator = 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

type Token =
  | { type: 'ident'; value: string }
  | { type: 'op'; value: '=' | '==' | '!=' | '!' | '>' | '<' }
  | { type: '(' | ')' | ',' };

const SPECIAL = new Set(['!', '=', ',', '(', ')', '<', '>']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: c });
      i++;
    } else if (c === '!' || c === '=') {
      if (text[i + 1] === '=') {
        tokens.push({ type: 'op', value: c === '!' ? '!=' : '==' });
        i += 2;
      } else {
        tokens.push({ type: 'op', value: c });
        i++;
      }
    } else if (c === '<' || c === '>') {
      tokens.push({ type: 'op', value: c });
      i++;
    } else {
      let j = i;
      while (j < text.length && !SPECIAL.has(text[j]!) && !/\s/.test(text[j]!)) j++;
      tokens.push({ type: 'ident', value: text.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && NAME_PART.test(name);
}

export const isLabelValue = (v: string): boolean =>
  v === '' || (v.length <= 63 && NAME_PART.test(v));

/** Parses `a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3`; throws BadRequest naming what is wrong. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  const tokens = tokenize(text);
  let pos = 0;
  const fail = (why: string): never => {
    throw new BadRequest(`unable to parse labelSelector ${JSON.stringify(text)}: ${why}`);
  };
  const peek = (): Token | undefined => tokens[pos];
  const ident = (what: string): string => {
    const t = tokens[pos++];
    if (!t || t.type !== 'ident') fail(`expected ${what}`);
    return (t as { value: string }).value;
  };
  const key = (): string => {
    const k = ident('a label key');
    if (!isLabelKey(k))
      fail(
        `invalid label key ${JSON.stringify(k)}: must be a qualified name (an optional DNS subdomain prefix and '/', then at most 63 alphanumerics, '-', '_' or '.')`,
      );
    return k;
  };
  const value = (v: string): string => {
    if (!isLabelValue(v))
      fail(
        `invalid label value ${JSON.stringify(v)}: at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`,
      );
    return v;
  };
  const requirements: LabelRequirement[] = [];
  if (tokens.length === 0) return requirements;
  for (;;) {
    const t = peek();
    if (t?.type === 'op' && t.value === '!') {
      pos++;
      requirements.push({ key: key(), operator: 'notexists', values: [] });
    } else {
      const k = key();
      const next = peek();
      if (next === undefined || next.type === ',') {
        requirements.push({ key: k, operator: 'exists', values: [] });
      } else if (
        next.type === 'op' &&
        (next.value === '=' || next.value === '==' || next.value === '!=')
      ) {
        pos++;
        const after = peek();
        const v = after?.type === 'ident' ? (pos++, after.value) : '';
        requirements.push({
          key: k,
          operator: next.value === '!=' ? 'neq' : 'eq',
          values: [value(v)],
        });
      } else if (next.type === 'op' && (next.value === '>' || next.value === '<')) {
        pos++;
        const v = ident('an integer');
        if (!/^-?\d+$/.test(v)) fail(`${JSON.stringify(v)} is not an integer`);
        requirements.push({ key: k, operator: next.value === '>' ? 'gt' : 'lt', values: [v] });
      } else if (next.type === 'ident' && (next.value === 'in' || next.value === 'notin')) {
        pos++;
        if (tokens[pos++]?.type !== '(') fail(`expected '(' after ${next.value}`);
        if (peek()?.type === ')')
          fail(`the ${next.value} set of ${JSON.stringify(k)} must hold at least one value`);
        const values: string[] = [];
        for (;;) {
          const v = peek();
          if (v?.type === 'ident') {
            values.push(value(v.value));
            pos++;
          } else if (v?.type === ',' || v?.type === ')') {
            values.push(''); // an empty element, as in `in (a,)`, is the empty value
          } else {
            fail(`expected a value or ')' in the ${next.value} set`);
          }
          const sep = tokens[pos++];
          if (sep?.type === ')') break;
          if (sep?.type !== ',') fail(`expected ',' or ')' in the ${next.value} set`);
        }
        const distinct = [...new Set(values)];
        requirements.push({ key: k, operator: next.value, values: distinct });
      } else {
        fail(
          `unexpected ${describe(next)} after ${JSON.stringify(k)}: expected =, ==, !=, in, notin, <, > or ','`,
        );
      }
    }
    const sep = tokens[pos++];
    if (sep === undefined) return requirements;
    if (sep.type !== ',') fail(`unexpected ${describe(sep)}: requirements are separated by ','`);
  }
}

function describe(t: Token): string {
  return t.type === 'ident' || t.type === 'op' ? JSON.stringify(t.value) : `'${t.type}'`;
}

/** One requirement as a test of a label set, its values in a Set (an `in` of many names is then no scan of them). */
function requirementTest(r: LabelRequirement): (l: Readonly<Record<string, string>>) => boolean {
  const { key } = r;
  const has = (l: Readonly<Record<string, string>>): boolean =>
    Object.prototype.hasOwnProperty.call(l, key);
  const values = new Set(r.values);
  switch (r.operator) {
    case 'exists':
      return has;
    case 'notexists':
      return (l) => !has(l);
    case 'eq':
    case 'in':
      return (l) => has(l) && values.has(l[key]!);
    // As in Kubernetes, != and notin also select objects that lack the label.
    case 'neq':
    case 'notin':
      return (l) => !has(l) || !values.has(l[key]!);
    case 'gt':
    case 'lt': {
      const bound = Number(r.values[0]);
      const gt = r.operator === 'gt';
      return (l) => {
        const v = has(l) ? l[key]! : undefined;
        if (v === undefined || !/^-?\d+$/.test(v)) return false;
        return gt ? Number(v) > bound : Number(v) < bound;
      };
    }
  }
}

/** The requirements as one test of an object's labels, built once for a list that tests many objects. */
export function labelsMatcher(
  requirements: LabelRequirement[],
): (labels: Readonly<Record<string, string>> | undefined) => boolean {
  const tests = requirements.map(requirementTest);
  return (labels) => {
    const l = labels ?? {};
    for (const t of tests) if (!t(l)) return false;
    return true;
  };
}

/** Each parsed selector's test, built at its first use. */
const matchers = new WeakMap<LabelRequirement[], ReturnType<typeof labelsMatcher>>();

export function labelsMatch(
  requirements: LabelRequirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  let matcher = matchers.get(requirements);
  if (!matcher) matchers.set(requirements, (matcher = labelsMatcher(requirements)));
  return matcher(labels);
}

export interface FieldRequirement {
  field: string;
  operator: 'eq' | 'neq';
  value: string;
}

const COMMON_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'status.phase',
  'spec.nodeName',
  'status.nodeName',
];
const EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

export function supportedFields(kind: string): string[] {
  return kind === 'Event' ? [...COMMON_FIELDS, ...EVENT_FIELDS] : COMMON_FIELDS;
}

/** Splits on unescaped `sep` (Kubernetes escapes `\\`, `,` and `=` in field selector values with a backslash). */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === sep) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const unescape = (s: string): string => s.replace(/\\(.)/g, '$1');

/** The first unescaped operator of a term: `!=`, `==` or `=`. */
function splitTerm(
  term: string,
): { field: string; operator: 'eq' | 'neq'; value: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    const c = term[i];
    if (c === '\\') {
      i++;
    } else if (c === '!' && term[i + 1] === '=') {
      return { field: term.slice(0, i), operator: 'neq', value: term.slice(i + 2) };
    } else if (c === '=') {
      const width = term[i + 1] === '=' ? 2 : 1;
      return { field: term.slice(0, i), operator: 'eq', value: term.slice(i + width) };
    }
  }
  return undefined;
}

/** Parses `metadata.name=a,status.phase!=Running` for `kind`; unknown fields are a BadRequest, as in Kubernetes. */
export function parseFieldSelector(text: string, kind: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (text.trim() === '') return out;
  const allowed = supportedFields(kind);
  for (const term of splitUnescaped(text, ',')) {
    // fields.ParseSelector skips empty terms (`a=b,` selects as `a=b`).
    if (term === '') continue;
    const parts = splitTerm(term);
    if (!parts)
      throw new BadRequest(
        `invalid fieldSelector term ${JSON.stringify(term)}: expected FIELD=VALUE, FIELD==VALUE or FIELD!=VALUE`,
      );
    const field = unescape(parts.field).trim();
    if (!allowed.includes(field)) {
      throw new BadRequest(
        `field label not supported: ${field} (${kind} supports ${allowed.join(', ')})`,
      );
    }
    out.push({ field, operator: parts.operator, value: unescape(parts.value) });
  }
  return out;
}

export function fieldValue(object: KubeObject, field: string): string {
  if (field === 'source') return stringOf(pathValue(object, ['source', 'component']));
  return stringOf(pathValue(object, field.split('.')));
}

function pathValue(object: unknown, path: string[]): unknown {
  let cur: unknown = object;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

const stringOf = (v: unknown): string =>
  v === undefined || v === null
    ? ''
    : typeof v === 'string'
      ? v
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v);

export function fieldsMatch(requirements: FieldRequirement[], object: KubeObject): boolean {
  return requirements.every(
    (r) => (fieldValue(object, r.field) === r.value) === (r.operator === 'eq'),
  );
}

export interface Selector {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

export function parseSelector(
  kind: string,
  labelSelector?: string,
  fieldSelector?: string,
): Selector {
  return {
    labels: labelSelector ? parseLabelSelector(labelSelector) : [],
    fields: fieldSelector ? parseFieldSelector(fieldSelector, kind) : [],
  };
}

export const selectsEverything = (s: Selector): boolean =>
  s.labels.length === 0 && s.fields.length === 0;

export function selectorMatches(s: Selector, object: KubeObject): boolean {
  return labelsMatch(s.labels, object.metadata.labels) && fieldsMatch(s.fields, object);
}
