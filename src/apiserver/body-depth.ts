// How deeply a request body nests: refused at the door, before the recursive patch, clone and store code sees it.
import { BadRequest } from '../resources/errors.ts';

/**
 * Kubernetes refuses JSON nested deeper than 10000 levels. Merge patches, structuredClone and JSON.stringify recurse
 * once per level and overflow the stack (a 500) somewhere past 10^4; no manifest comes near 100 levels, so 1000 keeps
 * every path far from the stack's end.
 */
export const MAX_BODY_DEPTH = 1000;

/** Returns `body` when it nests at most `max` levels of objects and arrays; throws BadRequest otherwise. */
export function checkBodyDepth<T>(body: T, max = MAX_BODY_DEPTH): T {
  // Iterative, and each object once: YAML aliases make a graph, whose paths could be exponentially many.
  const seen = new Set<object>();
  const pending: Array<[unknown, number]> = [[body, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    if (depth > max)
      throw new BadRequest(`the request body is nested more than ${max} levels deep`);
    seen.add(value);
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return body;
}
