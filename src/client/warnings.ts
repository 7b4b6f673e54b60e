// Parses the HTTP `Warning` header the apiserver sends with admission warnings (RFC 7234 form: `299 - "text"`).

/**
 * The warning texts in a `Warning` header value (several may be joined with commas). Header values arrive as one
 * character per byte; the server writes UTF-8 bytes (as Kubernetes does), so they are decoded as UTF-8 here.
 */
export function parseWarningHeader(raw: string | null): string[] {
  if (raw === null || raw.trim() === '') return [];
  const value = /[\u0080-\u00ff]/.test(raw) ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
  const out: string[] = [];
  const re = /(\d{3})\s+\S+\s+"((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) out.push(m[2]!.replace(/\\(.)/g, '$1'));
  // A server that sends bare text instead of the RFC form still gets heard.
  if (out.length === 0) out.push(value.trim());
  return out;
}
