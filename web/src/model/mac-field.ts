// MAC text typed by the operator, judged in the browser by the same pure module the apiserver's admission uses.
import { MacError, macToNumber, validateMac } from '../../../src/mac/index.ts';

export type MacCheck =
  | { kind: 'empty' }
  | { kind: 'valid'; mac: string }
  | { kind: 'invalid'; code: string; message: string };

/** Judges a MAC field: empty (the pool assigns one), valid (canonical form) or invalid (why, in the module's words). */
export function checkMac(text: string, options: { masquerade?: boolean } = {}): MacCheck {
  const t = text.trim();
  if (t === '') return { kind: 'empty' };
  try {
    return { kind: 'valid', mac: validateMac(t, { masquerade: options.masquerade === true }) };
  } catch (e) {
    if (e instanceof MacError) return { kind: 'invalid', code: e.code, message: e.message };
    throw e;
  }
}

/** Whether a canonical MAC lies in [start, end] of a pool range. */
export function macInRange(mac: string, range: { start: string; end: string }): boolean {
  const v = macToNumber(mac);
  return v >= macToNumber(range.start) && v <= macToNumber(range.end);
}

/** Addresses a range holds (inclusive). */
export const rangeSize = (range: { start: string; end: string }): number =>
  macToNumber(range.end) - macToNumber(range.start) + 1;
