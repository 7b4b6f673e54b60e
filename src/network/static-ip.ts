// The static-ip annotations of an object, read as written: a leaf with no Node.js imports, so the interface view (which
// the web UI renders too) can show a fixed address without pulling in the admission rules.
import { ANNOTATION_STATIC_IP_PREFIX } from '../resources/types.ts';

/** The fixed addresses an object's annotations ask for, by interface name, as written (not validated). */
export function fixedAddressesOf(
  annotations: Record<string, string> | undefined,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (key.startsWith(ANNOTATION_STATIC_IP_PREFIX))
      out.set(key.slice(ANNOTATION_STATIC_IP_PREFIX.length), value.trim());
  }
  return out;
}
