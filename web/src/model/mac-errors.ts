// Places a server's answer about MACs (dry run or real write) on the form field it concerns.
import type { ApiError } from '../api/client.ts';

const MAC_FIELD = /interfaces\[(\d+)\]\.macAddress$/;

export interface PlacedErrors {
  /** Message per interface index. */
  byIndex: Map<number, string>;
  /** What could not be tied to a MAC field. */
  general: string | undefined;
}

/**
 * Causes naming `…interfaces[i].macAddress` go to field i. A Conflict without such a cause (the MAC is held by
 * another VM) goes to the candidate whose MAC the message names, else to the first candidate. AlreadyExists is
 * about the object's name, never a MAC.
 */
export function placeMacErrors(
  error: ApiError,
  candidates: Array<{ index: number; mac: string }>,
): PlacedErrors {
  const byIndex = new Map<number, string>();
  const rest: string[] = [];
  for (const c of error.causes) {
    const m = c.field ? MAC_FIELD.exec(c.field) : null;
    if (m) {
      const i = Number(m[1]);
      byIndex.set(i, byIndex.has(i) ? `${byIndex.get(i)} ${c.message}` : c.message);
    } else {
      rest.push(c.field ? `${c.field}: ${c.message}` : c.message);
    }
  }
  if (byIndex.size === 0 && error.reason === 'Conflict') {
    const text = error.message.toLowerCase();
    const named = candidates.find((c) => c.mac !== '' && text.includes(c.mac.toLowerCase()));
    const target = named ?? candidates[0];
    if (target) {
      byIndex.set(target.index, error.message);
      return { byIndex, general: rest.length > 0 ? rest.join(' ') : undefined };
    }
  }
  if (byIndex.size === 0) return { byIndex, general: [error.message, ...rest].join(' ') };
  return { byIndex, general: rest.length > 0 ? rest.join(' ') : undefined };
}
