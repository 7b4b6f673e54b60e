// API tokens: the ApiToken resource (only a SHA-256 of the token is stored), minting, the store-backed authenticator and its admission.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  type StatusCause,
} from '../resources/errors.ts';
import {
  TOKEN_ID_BYTES,
  TOKEN_PATTERN,
  TOKEN_SECRET_BYTES,
  tokenText,
  type ApiToken,
} from '../resources/api-token.ts';
import type { KubeObject } from '../resources/meta.ts';
import { validateDns1123Label, validateDns1123Subdomain } from '../resources/names.ts';
import type { ResourceStore } from '../store/types.ts';
import { objectInvalid, type AdmissionPlugin, type UserInfo } from './admission/types.ts';
import { ADMIN_USER, type Authenticator } from './auth.ts';
import { NODE_USER_PREFIX, ROLES, groupsOf, type Role } from './roles.ts';

export { apiTokenObject, nodeTokenObject, type ApiToken } from '../resources/api-token.ts';

const ID_PATTERN = /^[0-9a-f]{12}$/;
const HASH_PATTERN = /^[0-9a-f]{64}$/;

export const tokenHash = (token: string): string =>
  createHash('sha256').update(token, 'utf8').digest('hex');

/** The id part of a Harrow token; undefined when the text is not one (e.g. the bootstrap admin token). */
export function tokenIdOf(token: string): string | undefined {
  return TOKEN_PATTERN.exec(token)?.[1];
}

export interface MintedToken {
  id: string;
  /** The secret: shown once, never stored. */
  token: string;
  hash: string;
}

export function mintToken(): MintedToken {
  const id = randomBytes(TOKEN_ID_BYTES).toString('hex');
  const token = tokenText(id, randomBytes(TOKEN_SECRET_BYTES).toString('base64url'));
  return { id, token, hash: tokenHash(token) };
}

/**
 * Authenticates Harrow tokens against their ApiToken records, read on every request: a revoked (deleted) token is
 * refused by the next request, on every replica of the store. The stored hash is compared in constant time.
 */
export function storeTokenAuthenticator(store: ResourceStore): Authenticator {
  return {
    async authenticate(token: string): Promise<UserInfo | undefined> {
      const id = tokenIdOf(token);
      if (id === undefined) return undefined;
      const record = (await store.get({ kind: 'ApiToken', name: id })) as ApiToken | undefined;
      if (
        !record ||
        typeof record.spec?.tokenHash !== 'string' ||
        !HASH_PATTERN.test(record.spec.tokenHash)
      )
        return undefined;
      const given = Buffer.from(tokenHash(token), 'hex');
      if (!timingSafeEqual(given, Buffer.from(record.spec.tokenHash, 'hex'))) return undefined;
      if (!ROLES.includes(record.spec.role) || !userFitsRole(record.spec.user, record.spec.role))
        return undefined;
      return {
        name: record.spec.user,
        uid: id,
        groups: groupsOf(record.spec.role, record.spec.namespaces ?? []),
      };
    },
  };
}

/** Tries each authenticator in turn; the first that knows the token decides. */
export function chainAuthenticators(...chain: Authenticator[]): Authenticator {
  return {
    async authenticate(token: string): Promise<UserInfo | undefined> {
      for (const a of chain) {
        const user = await a.authenticate(token);
        if (user) return user;
      }
      return undefined;
    },
  };
}

/**
 * User names Harrow's own parts act as: `admin` (the bootstrap token) and `system:*` (controllers, agents). A token for
 * one of them would make the audit log ambiguous, so none is ever issued or honoured.
 */
export const isReservedUserName = (user: string): boolean =>
  user === ADMIN_USER.name || user.startsWith('system:');

/** The node a node token's user names (`system:node:NODE`), when it is a valid node name. */
export function nodeOfTokenUser(user: string): string | undefined {
  if (!user.startsWith(NODE_USER_PREFIX)) return undefined;
  const node = user.slice(NODE_USER_PREFIX.length);
  return validateDns1123Subdomain(node, 'node').length === 0 ? node : undefined;
}

/** A node token's user is `system:node:NODE`; every other token's user is not reserved. */
const userFitsRole = (user: string, role: Role): boolean =>
  role === 'node' ? nodeOfTokenUser(user) !== undefined : !isReservedUserName(user);

/**
 * The credential the control plane presents to node `node`'s agent API: an HMAC of the node's name keyed with the
 * SHA-256 of the agent's own token. The agent computes it from its token, the control plane from the token's stored
 * hash, so the admin token never travels to an agent, and what one agent's URL receives opens no other agent.
 */
export function agentApiCredential(tokenHashHex: string, node: string): string {
  return createHmac('sha256', Buffer.from(tokenHashHex, 'hex'))
    .update(`harrow agent api\n${node}`, 'utf8')
    .digest('base64url');
}

const SPEC_FIELDS = new Set(['user', 'role', 'namespaces', 'tokenHash']);

/** The causes of an ApiToken that is not well formed (empty when it is). */
export function validateApiToken(o: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  if (typeof o.metadata.name !== 'string' || !ID_PATTERN.test(o.metadata.name)) {
    causes.push(
      fieldInvalid(
        'metadata.name',
        'must be the token id: 12 lowercase hex digits (harrow token create makes one)',
      ),
    );
  }
  const spec = o.spec as Record<string, unknown> | undefined;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    return [
      ...causes,
      fieldRequired('spec', 'an ApiToken needs spec.user, spec.role and spec.tokenHash'),
    ];
  for (const f of Object.keys(spec)) {
    if (!SPEC_FIELDS.has(f))
      causes.push(
        fieldNotSupported(
          `spec.${f}`,
          `unknown field; an ApiToken holds only ${[...SPEC_FIELDS].join(', ')} (never the token itself)`,
        ),
      );
  }
  const user = spec.user;
  if (typeof user !== 'string' || user.trim() === '')
    causes.push(fieldRequired('spec.user', 'the user name the token stands for'));
  else if (user.length > 253 || /\p{Cc}/u.test(user))
    causes.push(
      fieldInvalid('spec.user', 'must be at most 253 characters with no control characters'),
    );
  else if (spec.role === 'node') {
    if (nodeOfTokenUser(user) === undefined)
      causes.push(
        fieldInvalid(
          'spec.user',
          `a node token's user is "system:node:" followed by the node's name (harrow token create --node NAME)`,
        ),
      );
  } else if (isReservedUserName(user))
    causes.push(
      fieldInvalid(
        'spec.user',
        `"${user}" is reserved for Harrow itself ("admin" and names starting with "system:"): choose another user name`,
      ),
    );
  const role = spec.role;
  if (!ROLES.includes(role as Role))
    causes.push(
      fieldNotSupported('spec.role', `${JSON.stringify(role)}: must be one of ${ROLES.join(', ')}`),
    );
  const namespaces = spec.namespaces ?? [];
  if (!Array.isArray(namespaces))
    causes.push(fieldInvalid('spec.namespaces', 'must be a list of namespace names'));
  else {
    namespaces.forEach((n, i) => causes.push(...validateDns1123Label(n, `spec.namespaces[${i}]`)));
    if ((role === 'admin' || role === 'node') && namespaces.length > 0)
      causes.push(
        fieldInvalid(
          'spec.namespaces',
          `${role === 'admin' ? 'an admin' : 'a node'} token is not limited to namespaces: leave it empty`,
        ),
      );
    if ((role === 'operator' || role === 'viewer') && namespaces.length === 0) {
      causes.push(fieldRequired('spec.namespaces', `a ${role} token needs at least one namespace`));
    }
  }
  if (typeof spec.tokenHash !== 'string' || !HASH_PATTERN.test(spec.tokenHash)) {
    causes.push(
      fieldInvalid(
        'spec.tokenHash',
        'must be the lowercase hex SHA-256 of the token (64 hex digits); the token itself is never stored',
      ),
    );
  }
  return causes;
}

/** Validates ApiTokens on create; their spec cannot change afterwards (revoke and create a new one instead). */
export function apiTokenAdmission(): AdmissionPlugin {
  return {
    kinds: ['ApiToken'],
    async admit(req) {
      if (req.operation === 'delete' || !req.object) return;
      const causes = validateApiToken(req.object);
      if (
        req.operation === 'update' &&
        req.oldObject &&
        JSON.stringify(req.oldObject.spec) !== JSON.stringify(req.object.spec)
      ) {
        causes.push(
          fieldInvalid('spec', 'an ApiToken cannot be changed: revoke it and create a new one'),
        );
      }
      if (causes.length > 0)
        throw objectInvalid('ApiToken', 'ApiToken', 'harrow.io', req.object.metadata.name, causes);
    },
  };
}
