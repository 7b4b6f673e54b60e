// Finds and reads the kubeconfig that `harrow serve` writes: server URL, bearer token and namespace of the current context.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

export interface KubeconfigCredentials {
  /** The file these came from. */
  path: string;
  server: string;
  token?: string;
  /** The current context's namespace, when it names one. */
  namespace?: string;
  /** PEM text of the cluster's CA (certificate-authority-data, or the certificate-authority file). */
  ca?: string;
}

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/** Where to look, in order: `$HARROW_KUBECONFIG`, `./.harrow/kubeconfig`, `~/.harrow/kubeconfig`. */
export function kubeconfigCandidates(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  home = homedir(),
): string[] {
  const fromEnv = env.HARROW_KUBECONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return [resolve(cwd, fromEnv)];
  return [join(cwd, '.harrow', 'kubeconfig'), join(home, '.harrow', 'kubeconfig')];
}

/** The first candidate that exists; throws KubeconfigError naming every place it looked. */
export function findKubeconfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  home = homedir(),
): string {
  const candidates = kubeconfigCandidates(env, cwd, home);
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    throw new KubeconfigError(
      `no kubeconfig found (looked in ${candidates.join(', ')}); start a server with \`harrow serve\`, set HARROW_KUBECONFIG, or pass --server and --token`,
    );
  }
  return found;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function named(list: unknown, name: string, what: string, path: string): Record<string, unknown> {
  const entry = Array.isArray(list) ? list.find((e) => isRecord(e) && e.name === name) : undefined;
  if (!isRecord(entry))
    throw new KubeconfigError(`${path}: no ${what} named ${JSON.stringify(name)}`);
  const inner = entry[what];
  if (!isRecord(inner))
    throw new KubeconfigError(`${path}: ${what} ${JSON.stringify(name)} has no ${what} field`);
  return inner;
}

/** Reads the current context of a kubeconfig (YAML or JSON). */
export function parseKubeconfig(text: string, path: string): KubeconfigCredentials {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new KubeconfigError(`${path}: not YAML: ${(e as Error).message}`);
  }
  if (!isRecord(doc)) throw new KubeconfigError(`${path}: not a kubeconfig`);
  const contexts = Array.isArray(doc.contexts) ? doc.contexts : [];
  let contextName = typeof doc['current-context'] === 'string' ? doc['current-context'] : '';
  if (contextName === '') {
    const only = contexts.length === 1 && isRecord(contexts[0]) ? contexts[0].name : undefined;
    if (typeof only !== 'string') throw new KubeconfigError(`${path}: no current-context`);
    contextName = only;
  }
  const context = named(contexts, contextName, 'context', path);
  const cluster = named(doc.clusters, String(context.cluster), 'cluster', path);
  if (typeof cluster.server !== 'string' || cluster.server === '') {
    throw new KubeconfigError(`${path}: cluster ${JSON.stringify(context.cluster)} has no server`);
  }
  const creds: KubeconfigCredentials = { path, server: cluster.server };
  if (
    typeof cluster['certificate-authority-data'] === 'string' &&
    cluster['certificate-authority-data'] !== ''
  ) {
    creds.ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
  } else if (
    typeof cluster['certificate-authority'] === 'string' &&
    cluster['certificate-authority'] !== ''
  ) {
    creds.ca = readFileSync(resolve(path, '..', cluster['certificate-authority']), 'utf8');
  }
  if (context.user !== undefined) {
    const user = named(doc.users, String(context.user), 'user', path);
    if (typeof user.token === 'string' && user.token !== '') creds.token = user.token;
    else if (typeof user.tokenFile === 'string' && user.tokenFile !== '') {
      creds.token = readFileSync(resolve(path, '..', user.tokenFile), 'utf8').trim();
    }
  }
  if (typeof context.namespace === 'string' && context.namespace !== '')
    creds.namespace = context.namespace;
  return creds;
}

/** Loads a kubeconfig from `path`, or from the first default location that exists. */
export function loadKubeconfig(path?: string): KubeconfigCredentials {
  const file = path ?? findKubeconfig();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KubeconfigError(
      `cannot read kubeconfig ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return parseKubeconfig(text, file);
}
