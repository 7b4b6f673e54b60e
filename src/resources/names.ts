// Kubernetes name rules (DNS-1123 label and subdomain), shared by every kind.
import { fieldInvalid, fieldRequired, type StatusCause } from './errors.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Causes for a name that is not a DNS-1123 label (empty list when it is one). */
export function validateDns1123Label(value: unknown, field: string): StatusCause[] {
  if (value === undefined || value === null || value === '')
    return [fieldRequired(field, 'name or generateName is required')];
  if (typeof value !== 'string') return [fieldInvalid(field, 'must be a string')];
  if (value.length > 63)
    return [
      fieldInvalid(
        field,
        `${JSON.stringify(value.slice(0, 80))}: must be no more than 63 characters`,
      ),
    ];
  if (!DNS1123_LABEL.test(value)) {
    return [
      fieldInvalid(
        field,
        `${JSON.stringify(value)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
      ),
    ];
  }
  return [];
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Causes for a name that is not a DNS-1123 subdomain (at most 253 characters; what Events and Nodes may be named). */
export function validateDns1123Subdomain(value: unknown, field: string): StatusCause[] {
  if (value === undefined || value === null || value === '')
    return [fieldRequired(field, 'name or generateName is required')];
  if (typeof value !== 'string') return [fieldInvalid(field, 'must be a string')];
  if (value.length > 253 || !DNS1123_SUBDOMAIN.test(value))
    return [
      fieldInvalid(
        field,
        `${JSON.stringify(value.slice(0, 260))}: a lowercase RFC 1123 subdomain of at most 253 characters must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      ),
    ];
  return [];
}

// Kubernetes' generateName alphabet: no vowels and no look-alikes, so no accidental words.
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export const GENERATED_SUFFIX_LENGTH = 5;

/** The random suffix Kubernetes appends to a generateName (also launcher pods', clone targets' and the stores' names). */
export function generatedSuffix(): string {
  let suffix = '';
  while (suffix.length < GENERATED_SUFFIX_LENGTH)
    suffix += SUFFIX_ALPHABET[randomBelow(SUFFIX_ALPHABET.length)];
  return suffix;
}

/**
 * A uniform random integer in [0, n) for n ≤ 256, from the Web Crypto generator (Node's and a browser's alike, so this
 * module stays usable in the web UI); bytes past the last whole multiple of n are drawn again, so no value is favoured.
 */
function randomBelow(n: number): number {
  const limit = 256 - (256 % n);
  const byte = new Uint8Array(1);
  do crypto.getRandomValues(byte);
  while ((byte[0] as number) >= limit);
  return (byte[0] as number) % n;
}
