// Minting an API token in the browser, as `harrow token create` does in the CLI: the random id and secret come from
// the Web Crypto generator, and only the token's SHA-256 goes to the server; the text is shown once and never kept.
import {
  TOKEN_ID_BYTES,
  TOKEN_SECRET_BYTES,
  apiTokenObject,
  nodeTokenObject,
  tokenText,
  type ApiToken,
  type Role,
} from '../../../src/resources/api-token.ts';

const hex = (bytes: Uint8Array): string =>
  [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

export interface MintedToken {
  id: string;
  /** The secret: shown once, never stored. */
  token: string;
  hash: string;
}

export async function mintToken(): Promise<MintedToken> {
  const id = hex(random(TOKEN_ID_BYTES));
  const token = tokenText(id, base64url(random(TOKEN_SECRET_BYTES)));
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  return { id, token, hash: hex(new Uint8Array(digest)) };
}

export interface TokenRequest {
  role: Role;
  /** The user (admin, operator, viewer) or the node's name (node). */
  user: string;
  /** Comma- or space-separated namespaces (operator, viewer). */
  namespaces: string;
}

/** The ApiToken to create for the form; the server's admission judges every field. */
export function tokenObjectFor(minted: MintedToken, r: TokenRequest): ApiToken {
  if (r.role === 'node') return nodeTokenObject(minted, r.user.trim());
  const namespaces = r.namespaces
    .split(/[\s,]+/)
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return apiTokenObject(minted, r.user.trim(), r.role, namespaces);
}

/** Where the form shows a cause the server names: user (or node name), namespaces, role; the rest is general. */
export function tokenFieldOf(
  field: string | undefined,
): 'user' | 'namespaces' | 'role' | undefined {
  if (field === 'spec.user') return 'user';
  if (field === 'spec.role') return 'role';
  if (field?.startsWith('spec.namespaces')) return 'namespaces';
  return undefined;
}
