// Parses the HTTP `Warning` header the apiserver sends with admission warnings (RFC 7234 form: `299 - "text"`).

/** The warning texts in a `Warning` header value (several may be joined with commas). */
export function parseWarningHeader(value: string | null): string[] {
  if (value === null || value.trim() === '') return [];
  const out: string[] = [];
  const re = /(\d{3})\s+\S+\s+"((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) out.push(m[2]!.replace(/\\(.)/g, '$1'));
  // A server that sends bare text instead of the RFC form still gets heard.
  if (out.length === 0) out.push(value.trim());
  return out;
}
