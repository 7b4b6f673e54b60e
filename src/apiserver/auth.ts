// Bearer-token authentication, the authorization hook point, and the first-start admin token and kubeconfig.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubeObject } from '../resources/meta.ts';
import type { UserInfo } from './admission/types.ts';

export interface Authenticator {
  /** The user a bearer token stands for; undefined when the token is unknown (a promise when it must be looked up). */
  authenticate(token: string): UserInfo | undefined | Promise<UserInfo | undefined>;
}

/**
 * Decides whether `user` may do `verb` (get, list, watch, create, update, patch, delete, deletecollection, or a
 * subresource verb) on `kind` in `namespace` (absent: cluster scope), on the object `name` when the request names one.
 * Routes that are not resources ask with kind `path:<route>` (e.g. `path:/metrics`). See roles.ts for Harrow's roles.
 */
export type Authorize = (
  user: UserInfo,
  verb: string,
  kind: string,
  namespace?: string,
  name?: string,
) => boolean;

/**
 * Which objects of `kind` the user may see once a read is authorized (undefined: all). Left-out objects are absent from
 * lists and watches, and a get of one answers 404 as if it did not exist.
 */
export type ReadFilter = (user: UserInfo, kind: string) => ((o: KubeObject) => boolean) | undefined;

/** Every authenticated user may do everything (tests of other concerns; `harrow serve` uses roleAuthorize). */
export const allowAll: Authorize = () => true;

export const ADMIN_USER: UserInfo = {
  name: 'admin',
  groups: ['system:masters', 'system:authenticated'],
};

/** Tokens compared in constant time, so response timing does not leak how much of a guess was right. */
/** An authenticator that answers at once (no lookup). */
export interface SyncAuthenticator extends Authenticator {
  authenticate(token: string): UserInfo | undefined;
}

export function staticTokenAuthenticator(
  entries: Array<{ token: string; user: UserInfo }>,
): SyncAuthenticator {
  const known = entries.map((e) => ({ token: Buffer.from(e.token, 'utf8'), user: e.user }));
  return {
    authenticate(token: string): UserInfo | undefined {
      const given = Buffer.from(token, 'utf8');
      let found: UserInfo | undefined;
      for (const k of known) {
        if (k.token.length === given.length && timingSafeEqual(k.token, given)) found = k.user;
      }
      return found;
    },
  };
}

export interface KubeconfigOptions {
  /** PEM text of the CA that signed the server's certificate (written base64-encoded as certificate-authority-data). */
  caData?: string;
}

export interface BootstrappedAuth {
  token: string;
  authenticator: SyncAuthenticator;
  /** `<dataDir>/kubeconfig`. */
  kubeconfigPath: string;
  /** (Re)writes `<dataDir>/kubeconfig` for this server URL (mode 0600); returns its path. */
  writeKubeconfig(serverUrl: string, options?: KubeconfigOptions): Promise<string>;
}

/**
 * Creates `<dataDir>/admin.token` (random, mode 0600; reused when it exists) and, when `serverUrl` is given,
 * `<dataDir>/kubeconfig` (cluster `harrow`, user `admin`, context `harrow`) that kubectl uses as it is.
 */
export async function bootstrapAuth(
  dataDir: string,
  serverUrl?: string,
  options: KubeconfigOptions = {},
): Promise<BootstrappedAuth> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tokenPath = join(dataDir, 'admin.token');
  const token = await readOrCreateToken(tokenPath);
  const kubeconfigPath = join(dataDir, 'kubeconfig');
  const writeKubeconfig = async (url: string, o: KubeconfigOptions = {}): Promise<string> => {
    await writePrivate(kubeconfigPath, kubeconfigYaml(url, token, o));
    return kubeconfigPath;
  };
  if (serverUrl !== undefined) await writeKubeconfig(serverUrl, options);
  return {
    token,
    authenticator: staticTokenAuthenticator([{ token, user: ADMIN_USER }]),
    kubeconfigPath,
    writeKubeconfig,
  };
}

async function readOrCreateToken(path: string): Promise<string> {
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    if (existing.length >= 16) {
      await chmod(path, 0o600);
      return existing;
    }
    throw new Error(
      `${path} holds no usable token (fewer than 16 characters); delete it to have a new one made`,
    );
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(32).toString('base64url');
  try {
    // 'wx': when two processes start at once, one writes and the other reads the winner's token.
    await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' });
    return token;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return (await readFile(path, 'utf8')).trim();
  }
}

/** Written to a temporary file first so a reader never sees half a kubeconfig. */
async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export function kubeconfigYaml(
  serverUrl: string,
  token: string,
  options: KubeconfigOptions = {},
): string {
  const cluster: Record<string, string> = { server: serverUrl };
  if (options.caData !== undefined)
    cluster['certificate-authority-data'] = Buffer.from(options.caData, 'utf8').toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'harrow', cluster }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [
      { name: 'harrow', context: { cluster: 'harrow', user: 'admin', namespace: 'default' } },
    ],
    'current-context': 'harrow',
    preferences: {},
  });
}
