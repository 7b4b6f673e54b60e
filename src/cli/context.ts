// What every command gets: the process's streams, the global flags, a lazily built client and the namespace to use.
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { HarrowClient } from '../client/client.ts';
import { findKubeconfig, loadKubeconfig } from '../client/kubeconfig.ts';
import type { GlobalFlags } from './args.ts';

/** The process's I/O, injected so that commands run the same in tests. */
export interface CliIO {
  stdout: { write(text: string): unknown; columns?: number };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  /** A function, so that stdin is only opened by a command that reads it (an open stdin keeps the process alive). */
  stdin: () => AsyncIterable<string | Buffer>;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CommandContext {
  io: CliIO;
  globals: GlobalFlags;
  /** The API client from --server/--token, else the kubeconfig; built on first use. */
  client(): HarrowClient;
  /** -n, else the kubeconfig context's namespace, else `default`. */
  namespace(): string;
  /** Suffix to repeat the namespace in suggested commands (` -n NS`, or '' for `default`). */
  namespaceFlag(namespace?: string): string;
  now(): Date;
}

export function createContext(io: CliIO, globals: GlobalFlags): CommandContext {
  let client: HarrowClient | undefined;
  const build = (): HarrowClient => {
    const common = {
      onWarning: (m: string): void => {
        io.stderr.write(`Warning: ${m}\n`);
      },
      userAgent: 'harrow-cli',
    };
    if (
      globals.server !== undefined &&
      (globals.token !== undefined || globals.kubeconfig === undefined)
    ) {
      // --server without --token: use the kubeconfig's token when there is one, else go anonymous (the server says 401).
      let token = globals.token;
      if (token === undefined) {
        try {
          token = loadKubeconfig(findKubeconfig(io.env, io.cwd, io.env.HOME || homedir())).token;
        } catch {
          token = undefined;
        }
      }
      return new HarrowClient({
        ...common,
        server: globals.server,
        ...(token !== undefined ? { token } : {}),
      });
    }
    const creds = loadKubeconfig(
      globals.kubeconfig !== undefined
        ? resolve(io.cwd, globals.kubeconfig)
        : findKubeconfig(io.env, io.cwd, io.env.HOME || homedir()),
    );
    const token = globals.token ?? creds.token;
    return new HarrowClient({
      ...common,
      server: globals.server ?? creds.server,
      ...(token !== undefined ? { token } : {}),
      ...(creds.namespace !== undefined ? { namespace: creds.namespace } : {}),
      ...(creds.ca !== undefined ? { ca: creds.ca } : {}),
    });
  };
  const ctx: CommandContext = {
    io,
    globals,
    client() {
      client ??= build();
      return client;
    },
    namespace() {
      if (globals.namespace !== undefined) return globals.namespace;
      return ctx.client().namespace ?? 'default';
    },
    namespaceFlag(namespace = ctx.namespace()) {
      return namespace === 'default' ? '' : ` -n ${namespace}`;
    },
    now: () => new Date(),
  };
  return ctx;
}
