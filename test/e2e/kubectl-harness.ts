// Shared by the kubectl e2e tests: `harrow serve --tls auto` on a temp data dir, and the real kubectl (and harrow) against it.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HARROW_BIN, REPO_ROOT, runCli, waitFor, type CliResult } from './harness.ts';

/** A reason to skip when there is no kubectl on PATH. */
export function kubectlMissing(): string | undefined {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'kubectl is not installed';
  }
}

/** A KubeVirt VirtualMachine on the Multus network `lan`, with a field Harrow does not know (it must be kept). */
export const kubevirtVm = (
  name: string,
  mac?: string,
  runStrategy = 'Always',
): string => `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: ${name}
  labels:
    app: seed
spec:
  runStrategy: ${runStrategy}
  template:
    metadata:
      labels:
        kubevirt.io/domain: ${name}
    spec:
      domain:
        cpu:
          cores: 1
        memory:
          guest: 128Mi
        devices:
          interfaces:
          - name: default
            bridge: {}${mac ? `\n            macAddress: "${mac}"` : ''}
          disks: []
        ioThreadsPolicy: shared
      networks:
      - name: default
        multus:
          networkName: lan
`;

/** The Multus network `lan` that kubevirtVm's VMs use, a bridge on `subnet` (a /24 in 198.18.0.0/15). */
export const lanNetwork = (subnet: string): string => `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: lan
spec:
  config: '{"cniVersion":"0.3.1","type":"bridge","ipam":{"subnet":"${subnet}"}}'
`;

export interface KubectlRunOptions {
  stdin?: string;
  env?: Record<string, string>;
}

export interface KubectlServer {
  dataDir: string;
  kubeconfig: string;
  /** Runs kubectl with this server's kubeconfig; never throws on a non-zero exit. */
  kubectl(args: string[], options?: KubectlRunOptions): Promise<CliResult>;
  /** kubectl that must exit 0 and print nothing on stderr (no warnings); resolves to stdout. */
  ok(args: string[], stdin?: string): Promise<string>;
  /** A long-running kubectl (get -w): the caller kills it. */
  spawnKubectl(args: string[]): ChildProcess;
  /** bin/harrow with this server's kubeconfig, trusting its CA. */
  harrow(args: string[]): Promise<CliResult>;
  stop(): void;
}

/** Starts `harrow serve --runtime sim --tls auto` (kubectl sends its token only over TLS) and waits until kubectl reads /readyz. */
export async function startKubectlServer(
  options: { args?: string[]; env?: Record<string, string> } = {},
): Promise<KubectlServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'harrow-kubectl-'));
  const kubeconfig = join(dataDir, 'kubeconfig');
  const server = spawn(
    HARROW_BIN,
    [
      'serve',
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--runtime',
      'sim',
      '--tls',
      'auto',
      '--log-level',
      'warn',
      ...(options.args ?? []),
    ],
    {
      cwd: REPO_ROOT,
      stdio: 'ignore',
      detached: true,
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    },
  );
  const children = new Set<ChildProcess>([server]);
  const kubectl = (args: string[], options: KubectlRunOptions = {}): Promise<CliResult> =>
    new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', kubeconfig, ...args],
        { timeout: 60_000, env: { ...process.env, ...options.env } },
        (error, stdout, stderr) => {
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
        },
      );
      if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    });
  const stop = (): void => {
    for (const child of children) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      try {
        // The server runs in its own process group; a spawned kubectl is a plain child.
        if (child === server) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () =>
        existsSync(join(dataDir, 'server.json')) &&
        (await kubectl(['get', '--raw', '/readyz'])).stdout.trim() === 'ok',
      {
        timeoutMs: 60_000,
        message: 'harrow serve --tls auto ready for kubectl',
      },
    );
  } catch (e) {
    stop();
    throw e;
  }
  return {
    dataDir,
    kubeconfig,
    kubectl,
    async ok(args, stdin) {
      const r = await kubectl(args, stdin !== undefined ? { stdin } : {});
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim(), '', `kubectl ${args.join(' ')} printed warnings: ${r.stderr}`);
      return r.stdout;
    },
    spawnKubectl(args) {
      const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      return child;
    },
    harrow: (args) => runCli(args, { env: { HARROW_KUBECONFIG: kubeconfig } }),
    stop,
  };
}
