// Bearer tokens for WebSockets: browsers cannot set an Authorization header on a WebSocket, so Kubernetes also takes
// the token as a subprotocol `base64url.bearer.authorization.k8s.io.<token in base64url>`, never chosen as the protocol.
import type { IncomingHttpHeaders } from 'node:http';
import { BEARER_SUBPROTOCOL_PREFIX } from '../resources/types.ts';

/** The request's bearer token: the Authorization header, else (WebSocket upgrades) the token subprotocol. */
export function bearerTokenOf(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match) return match[1];
  if (header !== '') return undefined;
  const offered = String(headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const carried = offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  if (carried === undefined) return undefined;
  const token = Buffer.from(carried.slice(BEARER_SUBPROTOCOL_PREFIX.length), 'base64url').toString(
    'utf8',
  );
  return token === '' ? undefined : token;
}

/** The subprotocol to answer with: `wanted` when the client offered it (never the token), else none. */
export const chooseSubprotocol = (offered: ReadonlySet<string>, wanted: string): string | false =>
  offered.has(wanted) ? wanted : false;
