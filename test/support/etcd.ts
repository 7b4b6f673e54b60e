// Test helper: a real etcd cluster of n members on loopback (free ports, temp data dirs), killed and removed at exit.
//
// Usage:
//   import { startEtcdCluster } from '../support/etcd.ts';
//   const etcd = await startEtcdCluster(3);          // waits until every member answers /health
//   after(() => etcd.stop());                         // always: SIGKILLs the members, removes the data dirs
//   etcd.endpoints                                    // ['http://127.0.0.1:P0', ...] client URLs, one per member
//   await etcd.kill(1); await etcd.restart(1);        // crash a member, start it again on its data dir and ports
//
// API (kept stable: the agents work and the three-host script use it)
//   startEtcdCluster(n = 1, { dataRoot?, startTimeoutMs? }) → Promise<EtcdCluster>
//     dataRoot defaults to /dev/shm when present (fsync on tmpfs is cheap, so tests stay fast on a loaded host).
//   EtcdCluster: endpoints, dataDir, pids(), kill(i, signal = 'SIGKILL'), restart(i), logs(i), stop() (idempotent),
//     signal(i, sig) sends a signal without waiting (SIGSTOP/SIGCONT: freeze a member, e.g. to cut a lease's keepalives).
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env.HARROW_ETCD_BIN ?? '/usr/bin/etcd';

export interface EtcdClusterOptions {
  /** Parent of the cluster's temp dir. Default: /dev/shm when present, else the OS temp dir. */
  dataRoot?: string;
  startTimeoutMs?: number;
}

export interface EtcdCluster {
  /** Client URLs, one per member, in member order. */
  readonly endpoints: string[];
  readonly dataDir: string;
  /** Process ids of the running members (undefined for a killed one). */
  pids(): (number | undefined)[];
  /** Kills member i and waits for it to exit; its data dir stays for restart(). */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed member again on its data dir and ports, and waits until it answers /health. */
  restart(i: number): Promise<void>;
  /** Sends member i a signal and returns at once (SIGSTOP / SIGCONT freeze and thaw it). */
  signal(i: number, signal: NodeJS.Signals): void;
  /** Member i's log (stderr), for assertion messages. */
  logs(i: number): string;
  stop(): Promise<void>;
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dir: string;
  log: string;
  child: ChildProcess | undefined;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that fails or forgets stop() must not leave etcd processes or data behind.
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
}

/** A port the kernel just handed out; etcd binds it a moment later (a race we accept on a test host). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcdCluster(
  n = 1,
  options: EtcdClusterOptions = {},
): Promise<EtcdCluster> {
  if (!existsSync(ETCD_BIN))
    throw new Error(`etcd not found at ${ETCD_BIN} (Debian: apt-get install etcd-server)`);
  installExitHook();
  const root = options.dataRoot ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const dataDir = mkdtempSync(join(root, 'harrow-etcd-'));
  dirs.add(dataDir);
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const members: Member[] = [];
  for (let i = 0; i < n; i++) {
    const dir = join(dataDir, `m${i}`);
    mkdirSync(dir);
    members.push({
      name: `m${i}`,
      clientPort: await freePort(),
      peerPort: await freePort(),
      dir,
      log: join(dataDir, `m${i}.log`),
      child: undefined,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  const endpoint = (m: Member): string => `http://127.0.0.1:${m.clientPort}`;

  const launch = (m: Member): void => {
    const fd = openSync(m.log, 'a');
    const child = spawn(
      ETCD_BIN,
      [
        '--name',
        m.name,
        '--data-dir',
        join(m.dir, 'data'),
        '--listen-client-urls',
        endpoint(m),
        '--advertise-client-urls',
        endpoint(m),
        '--listen-peer-urls',
        `http://127.0.0.1:${m.peerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${m.peerPort}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        `harrow-${process.pid}-${dataDir.slice(-6)}`,
        // Loopback peers: a short election timeout makes a lost member's leadership move in well under a second.
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
        '--logger',
        'zap',
        '--log-outputs',
        'stderr',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    live.add(child);
    child.on('exit', () => live.delete(child));
    m.child = child;
  };

  const waitHealthy = async (ms: Member[]): Promise<void> => {
    const deadline = Date.now() + startTimeoutMs;
    for (const m of ms) {
      while (!(await healthy(endpoint(m)))) {
        if (m.child?.exitCode !== null && m.child?.exitCode !== undefined) {
          throw new Error(`etcd ${m.name} exited with ${m.child.exitCode}: ${tail(m.log)}`);
        }
        if (Date.now() > deadline)
          throw new Error(`etcd ${m.name} not healthy after ${startTimeoutMs} ms: ${tail(m.log)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const killMember = async (m: Member, signal: NodeJS.Signals): Promise<void> => {
    const child = m.child;
    if (!child) return;
    m.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  };

  let stopped = false;
  const cluster: EtcdCluster = {
    endpoints: members.map(endpoint),
    dataDir,
    pids: () => members.map((m) => m.child?.pid),
    kill: (i, signal = 'SIGKILL') => killMember(memberAt(members, i), signal),
    restart: async (i) => {
      const m = memberAt(members, i);
      if (m.child) throw new Error(`etcd ${m.name} is running`);
      launch(m);
      await waitHealthy([m]);
    },
    signal: (i, signal) => {
      memberAt(members, i).child?.kill(signal);
    },
    logs: (i) =>
      existsSync(memberAt(members, i).log) ? readFileSync(memberAt(members, i).log, 'utf8') : '',
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // A frozen member still dies of SIGKILL.
      await Promise.all(members.map((m) => killMember(m, 'SIGKILL')));
      rmSync(dataDir, { recursive: true, force: true });
      dirs.delete(dataDir);
    },
  };
  try {
    for (const m of members) launch(m);
    await waitHealthy(members);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

function memberAt(members: Member[], i: number): Member {
  const m = members[i];
  if (!m) throw new Error(`no etcd member ${i} (cluster of ${members.length})`);
  return m;
}

function tail(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8').slice(-2000) : '(no log)';
}
