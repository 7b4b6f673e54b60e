// The composition root of a single-host Harrow: store, runtime, MAC pool, apiserver and controllers in one process.
import { fixedAddressAdmission } from '../apiserver/admission/fixed-address.ts';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { checkPoolConsistency } from '../allocation/consistency.ts';
import { MacAllocationService } from '../allocation/service.ts';
import { macPoolAdmission } from '../apiserver/admission/macpool.ts';
import { nadAdmission } from '../apiserver/admission/nad.ts';
import { networkNamespaceAdmission } from '../apiserver/admission/network-namespace.ts';
import { auditRecordAdmission } from '../apiserver/admission/auditrecord.ts';
import { namespaceAdmission } from '../apiserver/admission/namespace.ts';
import { virtualMachineInstanceAdmission } from '../apiserver/admission/virtualmachineinstance.ts';
import { virtualMachineAdmission } from '../apiserver/admission/virtualmachine.ts';
import { persistentDiskAdmission } from '../apiserver/admission/persistent-disks.ts';
import { virtualMachineCloneAdmission } from '../apiserver/admission/virtualmachineclone.ts';
import { bootstrapAuth } from '../apiserver/auth.ts';
import { maySeeNamespace, readFilter, roleAuthorize } from '../apiserver/roles.ts';
import { createApiServer, type ApiServerLimits } from '../apiserver/server.ts';
import { nodeReadCheck, nodeRestrictionAdmission } from '../apiserver/node-restriction.ts';
import {
  apiTokenAdmission,
  chainAuthenticators,
  storeTokenAuthenticator,
} from '../apiserver/tokens.ts';
import { DEFAULT_SERVING_HOSTS, ensureServingCertificate } from '../apiserver/tls.ts';
import { startHeartbeat } from '../agent/heartbeat.ts';
import { nodeRoutingRuntime } from '../agent/node-routing.ts';
import { startControllers } from '../controllers/index.ts';
import type { Runtime } from '../runtime/types.ts';
import { startLeaderElection, type LeaderElection } from '../store/etcd/election.ts';
import { claimNodeName, type NodeClaim } from '../store/etcd/node-claim.ts';
import { EtcdStore, openEtcdStore } from '../store/etcd/store.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
import type { ResourceStore } from '../store/types.ts';
import { cidrContains, parseCidr, parseIpv4 } from '../ip/ipv4.ts';
import { createLogger } from '../log/logger.ts';
import { macAssigner } from './mac-assigner.ts';
import { metricsPlugin } from './metrics.ts';
import { registerStoreMetrics } from '../metrics/store-metrics.ts';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { chooseRuntime, type RuntimeChoice } from '../runtime/choice.ts';
import { uiPluginIfBuilt } from './ui.ts';
import { admittedVmCreator } from './vm-creator.ts';
import { openImageStore } from '../images/store.ts';

export interface HarrowOptions {
  dataDir: string;
  /** HOST:PORT; port 0 picks a free one. */
  listen: string;
  runtime: RuntimeChoice;
  logLevel?: string;
  /** Seconds a released MAC stays quarantined (default 300). */
  quarantineSeconds?: number;
  nodeName?: string;
  /**
   * `auto` (default): serve HTTPS with a CA and serving certificate made on first start and kept in `<dataDir>/pki`
   * (kubectl sends tokens only over TLS); `off`: plain HTTP, allowed on loopback only.
   */
  tls?: 'off' | 'auto';
  /** Request body size, list page size, request rate and open watches per token (defaults in src/apiserver/limits.ts). */
  limits?: ApiServerLimits;
  /** False: control plane only — no runtime work here, VMIs go to `harrow agent` nodes (default true: this host is a node too). */
  localNode?: boolean;
  /**
   * Where state lives. sqlite (default): `<dataDir>/harrow.db`, one replica. etcd: any number of replicas on one etcd
   * cluster; every replica serves the API, the controllers run only on the one holding the leader lease.
   */
  store?: StoreChoice;
  /**
   * Namespaces whose NetworkAttachmentDefinitions a VM or VMI of any namespace may use (Multus's globalNamespaces under
   * namespaceIsolation); others must be in the workload's own namespace. Default ['default'].
   */
  globalNetworkNamespaces?: string[];
  /** qemu: on stop, remove every guest, namespace, bridge and state file the runtime made (a throwaway host). */
  teardownOnExit?: boolean;
  /** The local image store containerDisk volumes name (default $HARROW_IMAGE_DIR or ~/.cache/harrow/images). */
  imageDir?: string;
}

export type StoreChoice =
  { kind: 'sqlite' } | { kind: 'etcd'; endpoints: string[]; prefix?: string };

export interface RunningHarrow {
  url: string;
  token: string;
  runtime: Runtime['name'];
  /** Why the runtime is not the one asked for (e.g. fell back to sim), if it is not. */
  runtimeNote?: string;
  kubeconfig: string;
  /** PEM CA certificate that signed the serving certificate (TLS only): what clients of `url` trust. */
  caCert?: string;
  /** Where the web UI is served, when it is built (web/dist). */
  uiUrl?: string;
  close(): Promise<void>;
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  if (!m)
    throw new Error(`--listen ${JSON.stringify(listen)}: expected HOST:PORT, e.g. 127.0.0.1:8080`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`--listen ${listen}: port must be at most 65535`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
/** 127.0.0.0/8 as an address, not as a name: `127.example.com` may resolve anywhere. */
const LOOPBACK_V4 = parseCidr('127.0.0.0/8')!;

/** Whether `host` can only be reached from this machine (then plain HTTP is allowed). */
export const isLoopbackHost = (host: string): boolean => {
  const v4 = parseIpv4(host);
  return LOOPBACK.has(host) || (v4 !== undefined && cidrContains(LOOPBACK_V4, v4));
};

export async function startHarrow(options: HarrowOptions): Promise<RunningHarrow> {
  const { host, port } = parseListen(options.listen);
  const tls = options.tls ?? 'auto';
  if (!isLoopbackHost(host) && tls !== 'auto') {
    throw new Error(
      `--listen ${options.listen}: binding beyond loopback requires TLS: drop --tls off`,
    );
  }
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const logger: Logger = await createLogger(options.logLevel);
  const nodeName = options.nodeName ?? hostname();
  const store: ResourceStore | EtcdStore =
    options.store?.kind === 'etcd'
      ? await openEtcdStore({
          endpoints: options.store.endpoints,
          ...(options.store.prefix !== undefined ? { prefix: options.store.prefix } : {}),
          // This process's own audit chain: named for the replica that wrote it, new with each start (a restarted
          // replica never races its predecessor, or another process given the same node name, for a head).
          auditChain: `${nodeName}-${randomUUID().slice(0, 8)}`,
          // etcd ended a watch by itself (compacted while reconnecting): its follower re-lists and watches again, and
          // the replica says not ready until every follower has.
          onWatchEnded: (kind, e) =>
            logger.warn({ kind, err: String(e) }, 'etcd watch ended; re-listing'),
        })
      : await openSqliteStore(join(dataDir, 'harrow.db'));
  const localNode = options.localNode ?? true;
  // Over etcd, several processes share one store: a node name (whose guests this process would start) is held by one
  // live process at a time. A second one with the same name stops here and says who holds it.
  let nodeClaim: NodeClaim | undefined;
  if (store instanceof EtcdStore && localNode) {
    try {
      nodeClaim = await claimNodeName({
        client: store.client,
        key: `${store.prefix}/_nodes/${nodeName}`,
        nodeName,
        onLost: (reason) =>
          logger.error(
            { node: nodeName, reason },
            'node name lease lost: another process may now take this node name',
          ),
      });
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  const chosen = await chooseRuntime(options.runtime, {
    dataDir,
    logger,
    ...(options.teardownOnExit ? { teardownOnClose: true } : {}),
  });
  const imageStore = openImageStore(options.imageDir);
  const runtime = chosen.runtime;
  const macs = await MacAllocationService.open(store, {
    quarantineSeconds: options.quarantineSeconds ?? 300,
    // Replicas on one etcd walk the pool in different orders, so concurrent creates rarely pick the same MAC.
    ...(store instanceof EtcdStore ? { allocationSalt: `/${randomUUID()}` } : {}),
  });
  let ready = false;
  const auth = await bootstrapAuth(dataDir);
  const serving =
    tls === 'auto'
      ? await ensureServingCertificate(join(dataDir, 'pki'), [
          ...new Set([...DEFAULT_SERVING_HOSTS, host]),
        ])
      : undefined;
  const ui = await uiPluginIfBuilt();
  // One registry for /metrics: requests, every controller manager (also after a leadership change), the store's pools
  // and VMIs, and Node.js.
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  // Pool usage and MAC collisions, read from the store when scraped.
  registerStoreMetrics(metrics, store, (e) =>
    logger.warn(
      { err: e instanceof Error ? e.message : String(e) },
      'metrics: reading the store failed',
    ),
  );
  const running: { controllers?: Controllers; nodeSide?: Controllers } = {};
  // One admission chain for the API and for the VMs controllers create (clones): both get pool MACs the same way.
  const admission = [
    // First: a node agent's write that reaches beyond its node is refused before anything is planned for it.
    nodeRestrictionAdmission(store),
    // Before MAC admission: a workload on another tenant's network is refused before any MAC is planned for it.
    networkNamespaceAdmission(
      options.globalNetworkNamespaces ? { globalNamespaces: options.globalNetworkNamespaces } : {},
    ),
    virtualMachineAdmission(store, macs, { mayNameHolder: maySeeNamespace }),
    virtualMachineInstanceAdmission(store, macs, { mayNameHolder: maySeeNamespace }),
    // After the VM and VMI admission have checked the interfaces the fixed addresses name.
    fixedAddressAdmission(store, { mayNameHolder: maySeeNamespace }),
    nadAdmission(store),
    macPoolAdmission(store),
    namespaceAdmission(),
    apiTokenAdmission(),
    auditRecordAdmission(),
    virtualMachineCloneAdmission(store, macs, { mayNameHolder: maySeeNamespace }),
    persistentDiskAdmission(),
  ];
  const app = await createApiServer({
    store,
    // Guests on other nodes are reached through their agents.
    runtime: nodeRoutingRuntime({
      local: runtime,
      store,
      ...(localNode ? { localNode: nodeName } : {}),
    }),
    admission,
    // admin.token stays the admin's; users' tokens are ApiTokens (harrow token create), checked against their hash.
    authenticator: chainAuthenticators(auth.authenticator, storeTokenAuthenticator(store)),
    authorize: roleAuthorize,
    readFilter,
    readCheck: nodeReadCheck(store),
    logger: false,
    metrics,
    plugins: [metricsPlugin(metrics), ...ui],
    // Ready only while everything this replica decides from follows the store: after a watch ends (etcd compacted past
    // it) until the re-list, a replica would act on stale state.
    isReady: () =>
      ready &&
      macs.synced &&
      (!(store instanceof EtcdStore) || store.watchesConnected) &&
      (running.controllers?.synced() ?? true) &&
      (running.nodeSide?.synced() ?? true),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(serving ? { https: { key: serving.key, cert: serving.cert } } : {}),
  });
  const address = await app.listen({ host, port });
  const url = address.replace('[::1]', 'localhost');
  const kubeconfig = await auth.writeKubeconfig(url, serving ? { caData: serving.caCert } : {});
  // This host registers as a Node like an agent would, so schedulers and `get nodes` see it.
  const heartbeat = localNode
    ? await startHeartbeat({ store, nodeName, runtime: runtime.name, logger })
    : undefined;
  // Keys each controller reconciles at once. A sim guest costs nothing to start, so there a reconcile mostly waits for
  // its writes' commit (fsync): many in flight share each group commit (2,000 VMs create → all Running 48 s → 27 s on a
  // loaded machine, the same CPU). A QEMU guest costs a core to boot: the default 4 there.
  const concurrency = runtime.name === 'sim' ? 32 : undefined;
  const startAll = (): ReturnType<typeof startControllers> =>
    startControllers({
      store,
      runtime,
      macAssigner: macAssigner(store, macs),
      macReleaser: macs,
      vmCreator: admittedVmCreator(store, admission),
      imageStore,
      nodeName,
      logger,
      metrics,
      ...(concurrency ? { concurrency } : {}),
      // Over etcd every replica is a node all the time, while only the leader runs the control plane.
      roles: { controlPlane: true, node: localNode && !(store instanceof EtcdStore) },
    });
  running.nodeSide =
    localNode && store instanceof EtcdStore
      ? await startControllers({
          store,
          runtime,
          macAssigner: macAssigner(store, macs),
          imageStore,
          nodeName,
          logger,
          metrics,
          ...(concurrency ? { concurrency } : {}),
          roles: { controlPlane: false, node: true },
        })
      : undefined;
  const election =
    store instanceof EtcdStore
      ? electLeader(store, nodeName, logger, startAll, running)
      : undefined;
  if (!election) running.controllers = await startAll();
  ready = true;
  await writeFile(
    join(dataDir, 'server.json'),
    JSON.stringify({ url, pid: process.pid, runtime: runtime.name }) + '\n',
    { mode: 0o600 },
  );
  logger.info({ url, runtime: runtime.name, dataDir }, 'harrow ready');
  // After ready, not before: with thousands of VMs the check reads them all, and serving need not wait for it.
  void checkPoolConsistency(store).then(
    (differences) =>
      differences.length === 0
        ? logger.info('MAC pool consistent with the manifests')
        : logger.warn(
            { differences },
            `MAC pool differs from the manifests in ${differences.length} place(s)`,
          ),
    (e: unknown) =>
      logger.warn(
        { err: e instanceof Error ? e.message : String(e) },
        'MAC pool consistency check failed',
      ),
  );
  return {
    url,
    token: auth.token,
    runtime: runtime.name,
    ...(chosen.note ? { runtimeNote: chosen.note } : {}),
    kubeconfig,
    ...(serving ? { caCert: serving.caCert } : {}),
    ...(ui.length > 0 ? { uiUrl: `${url}/ui/` } : {}),
    async close() {
      ready = false;
      heartbeat?.stop();
      await app.close();
      if (election) await election.resign();
      else await running.controllers?.stop();
      await running.nodeSide?.stop();
      macs.close();
      await runtime.close();
      await nodeClaim?.release();
      await store.close();
    },
  };
}

type Controllers = Awaited<ReturnType<typeof startControllers>>;

/** Controllers follow the leader lease: started when this replica is elected, stopped when it loses the lease. */
function electLeader(
  store: EtcdStore,
  identity: string,
  logger: Logger,
  start: () => Promise<Controllers>,
  running: { controllers?: Controllers },
): LeaderElection {
  let compaction: { stop(): void } | undefined;
  let waitingFor: string | undefined;
  return startLeaderElection({
    client: store.client,
    key: `${store.prefix}/_leader/controllers`,
    identity: `${identity}/${process.pid}`,
    onElected: async () => {
      waitingFor = undefined;
      logger.info({ identity }, 'elected leader: starting controllers');
      compaction = store.startCompaction({
        onError: (e) => logger.warn({ err: String(e) }, 'etcd compaction failed'),
      });
      running.controllers = await start();
    },
    onLost: async (reason) => {
      logger.warn({ reason }, 'leadership ended: stopping controllers');
      compaction?.stop();
      const controllers = running.controllers;
      running.controllers = undefined;
      await controllers?.stop();
    },
    // Said once per leader seen (the campaign re-checks every TTL).
    onWaiting: (leader) => {
      if (leader === waitingFor) return;
      waitingFor = leader;
      logger.info({ leader }, 'candidate waiting: another replica leads');
    },
    onError: (e) =>
      logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'leader election: retrying'),
  });
}
