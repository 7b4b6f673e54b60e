// Query parameters read the way kube-apiserver reads them (apimachinery's url.Values → ListOptions/DeleteOptions…):
// the first of repeated keys counts, a boolean is false only for "false" or "0" (any case) and true for anything else
// (even empty), an integer is Go's strconv.ParseInt in base 10 and a bad one is 400 BadRequest; dryRun is a list.
import { BadRequest } from '../resources/errors.ts';

type ParameterType = 'string' | 'boolean' | 'integer' | 'list';

/** The typed parameters of Kubernetes' ListOptions, GetOptions, CreateOptions, PatchOptions and DeleteOptions. */
const PARAMETERS: Readonly<Record<string, ParameterType>> = {
  labelSelector: 'string',
  fieldSelector: 'string',
  continue: 'string',
  resourceVersion: 'string',
  resourceVersionMatch: 'string',
  fieldValidation: 'string',
  fieldManager: 'string',
  propagationPolicy: 'string',
  includeObject: 'string',
  watch: 'boolean',
  allowWatchBookmarks: 'boolean',
  sendInitialEvents: 'boolean',
  force: 'boolean',
  orphanDependents: 'boolean',
  limit: 'integer',
  timeoutSeconds: 'integer',
  gracePeriodSeconds: 'integer',
  dryRun: 'list',
};

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Go's `strconv.ParseInt(text, 10, 64)`: an optional sign and decimal digits, nothing else, within int64. */
export function parseGoInt64(name: string, text: string): number {
  if (!/^[+-]?[0-9]+$/.test(text))
    throw new BadRequest(
      `${name}: strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`,
    );
  const n = BigInt(text);
  if (n > INT64_MAX || n < INT64_MIN)
    throw new BadRequest(
      `${name}: strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`,
    );
  return Number(n);
}

/** apimachinery's Convert_Slice_string_To_bool: only "false" and "0" (any case) are false. */
export const goQueryBoolean = (text: string): boolean =>
  !['false', '0'].includes(text.toLowerCase());

/** A parsed query: known parameters converted (integers stay text until `integerParameter`), others as given. */
export type Query = Record<string, string | string[]>;

/** Fastify's querystring parser: URL decoding as url.ParseQuery does, then each known parameter's rule. */
export function parseQueryString(text: string): Query {
  const values = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(text)) {
    const list = values.get(k);
    if (list) list.push(v);
    else values.set(k, [v]);
  }
  const query: Query = {};
  for (const [k, list] of values) {
    const type = PARAMETERS[k];
    if (type === 'list') query[k] = list;
    else if (type === 'boolean') query[k] = goQueryBoolean(list[0]!) ? 'true' : 'false';
    // Unknown parameters keep every value, as Go's url.Values does; routes that know them pick.
    else if (type === undefined && list.length > 1) query[k] = list;
    else query[k] = list[0]!;
  }
  return query;
}

/** A known integer parameter as a number, undefined when absent; 400 when Go would not parse it. */
export function integerParameter(query: Query, name: string): number | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  return parseGoInt64(name, Array.isArray(v) ? v[0]! : v);
}
