// The ApiToken resource (harrow.io/v1, cluster-scoped, admins only) and the token text's form: pure, shared by the
// apiserver, the CLI and the web UI, which each mint the random parts with their own platform's generator.
import type { Static } from 'typebox';
import { ApiTokenSchema, type Role } from './schema/harrow.ts';

export type { Role };
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer', 'node'];

/** Kubernetes' kubelet identity: user `system:node:NAME` in group `system:nodes`. */
export const NODE_USER_PREFIX = 'system:node:';
export const nodeUserName = (node: string): string => `${NODE_USER_PREFIX}${node}`;

/**
 * One user's token. Cluster-scoped, named by the token's id (the id is part of the token, so a request finds its
 * record with one keyed read). Kept in the store, so several replicas on one store agree on it.
 */
export type ApiToken = Static<typeof ApiTokenSchema>;

/** `harrow_<12 hex id>_<43 base64url characters: 256 random bits>`. */
export const TOKEN_PATTERN = /^harrow_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;
/** Random bytes in a token's id (12 hex digits) and in its secret (43 base64url characters). */
export const TOKEN_ID_BYTES = 6;
export const TOKEN_SECRET_BYTES = 32;

/** The token's text from its id (hex) and its secret (base64url, unpadded). */
export const tokenText = (id: string, secret: string): string => `harrow_${id}_${secret}`;

export function apiTokenObject(
  minted: { id: string; hash: string },
  user: string,
  role: Role,
  namespaces: readonly string[],
): ApiToken {
  return {
    apiVersion: 'harrow.io/v1',
    kind: 'ApiToken',
    metadata: {
      name: minted.id,
      labels: { 'harrow.io/user': labelValue(user), 'harrow.io/role': role },
    },
    spec: {
      user,
      role,
      namespaces: role === 'admin' || role === 'node' ? [] : [...namespaces],
      tokenHash: minted.hash,
    },
  };
}

/** The ApiToken of node `node`'s agent (`harrow token create --node NODE`). */
export const nodeTokenObject = (minted: { id: string; hash: string }, node: string): ApiToken =>
  apiTokenObject(minted, nodeUserName(node), 'node', []);

/** A label value is at most 63 of [A-Za-z0-9._-]; user names may hold more, so the label is a best-effort selector aid. */
const labelValue = (s: string): string =>
  s
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
