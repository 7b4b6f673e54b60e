// The opaque `continue` token of a paged list: the last key returned and the revision the first page reflected.
import { BadRequest } from '../resources/errors.ts';
import type { ListOptions } from './types.ts';

export interface ContinueToken {
  /** Revision of the list's first page; every page reports it so a watch from there misses nothing. */
  revision: number;
  namespace: string;
  name: string;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(
    JSON.stringify({ v: 1, rv: t.revision, ns: t.namespace, n: t.name }),
    'utf8',
  ).toString('base64url');
}

export function decodeContinue(token: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { v, rv, ns, n } = parsed as Record<string, unknown>;
  if (
    v !== 1 ||
    typeof rv !== 'number' ||
    !Number.isSafeInteger(rv) ||
    rv < 0 ||
    typeof ns !== 'string' ||
    typeof n !== 'string'
  ) {
    throw invalid();
  }
  return { revision: rv, namespace: ns, name: n };
}

const invalid = (): BadRequest =>
  new BadRequest('continue key is not valid: the token was not produced by this list');

/** A list result with `continue` set only when a next page exists. */
export function withContinue<T extends object>(
  result: T,
  token: string | undefined,
): T & { continue?: string } {
  return token === undefined ? result : { ...result, continue: token };
}

/** The page size (undefined: all) and the decoded continue token of a list call; BadRequest when either is not valid. */
export function pageOf(options: ListOptions): {
  pageSize: number | undefined;
  token: ContinueToken | undefined;
} {
  const { limit, namespace } = options;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new BadRequest(`limit must be a non-negative integer, got ${String(limit)}`);
  }
  const token =
    options.continue === undefined || options.continue === ''
      ? undefined
      : decodeContinue(options.continue);
  if (token && namespace !== undefined && token.namespace !== namespace) {
    throw new BadRequest('continue key is not valid: it belongs to a list of another namespace');
  }
  return { pageSize: limit === undefined || limit === 0 ? undefined : limit, token };
}
