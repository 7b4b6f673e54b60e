// Benchmark: `harrow down` with N running guests — the removal itself (removeInstance: one /proc pass, guests stopped
// in parallel), the whole command (`bin/harrow down --instance-id`, process start included), and as baseline the
// removal destroyAll did before: per namespace `ip netns pids`, each process stopped in turn, then `ip netns delete`.
// Run (root): node --import tsx bench/down.ts [N...]   (default 1 2 4; prints figures, never asserts).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createQemuRuntime, qemuAvailable, type QemuRuntime } from '../src/runtime/qemu/index.ts';
import { deleteNamespace, listNamespaces, namespacePids } from '../src/runtime/qemu/ip.ts';
import { hostNamespace, podUidOfNamespace } from '../src/runtime/qemu/names.ts';
import { terminate } from '../src/runtime/qemu/procfs.ts';
import { findInstance, holdsNothing, removeInstance } from '../src/runtime/qemu/teardown.ts';
import type { NetworkSpec } from '../src/runtime/types.ts';

const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const GUEST_COUNTS = counts.length > 0 ? counts : [1, 2, 4];
const ROOT = join(import.meta.dirname, '..');

const network: NetworkSpec = {
  id: 'bench',
  name: 'default/bench',
  cidr: '198.18.250.0/24',
  gateway: '198.18.250.1',
  dhcpRange: { start: '198.18.250.10', end: '198.18.250.200' },
};
const mac = (n: number): string => `02:be:d0:00:00:${n.toString(16).padStart(2, '0')}`;

/** A runtime instance with a network and `n` running guests (QEMU up and resumed; the guest need not have booted). */
async function instanceWithGuests(instanceId: string, stateDir: string, n: number) {
  const rt: QemuRuntime = await createQemuRuntime({ instanceId, stateDir });
  await rt.ensureNetwork(network);
  for (let i = 0; i < n; i++) {
    const iface = {
      name: 'default',
      network,
      podInterfaceName: 'eth0',
      mac: mac(i),
      binding: 'bridge' as const,
    };
    await rt.setupPod({
      podUid: `p${i}`,
      namespace: 'default',
      podName: `p${i}`,
      interfaces: [iface],
    });
    await rt.startGuest({
      vmiUid: `v${i}`,
      podUid: `p${i}`,
      namespace: 'default',
      name: `vm${i}`,
      cpus: 1,
      memoryMiB: 96,
      nics: [{ name: 'default', mac: mac(i), podInterfaceName: 'eth0', networkId: network.id }],
    });
  }
  await rt.close();
}

/** What destroyAll did before `harrow down`: namespace by namespace, process by process. */
async function sequentialRemoval(instanceId: string): Promise<void> {
  for (const ns of await listNamespaces()) {
    if (!podUidOfNamespace(instanceId, ns) && ns !== hostNamespace(instanceId)) continue;
    for (const pid of await namespacePids(ns)) await terminate(pid, 2_000);
    await deleteNamespace(ns);
  }
}

async function timed(label: string, n: number, remove: (id: string) => Promise<void>) {
  const instanceId = `bd${process.pid}${label[0]}${n}`;
  const stateDir = await mkdtemp('/tmp/harrow-bench-down-');
  try {
    await instanceWithGuests(instanceId, join(stateDir, 's'), n);
    const before = await findInstance(instanceId);
    if (before.guests.length !== n)
      throw new Error(`${label}: ${before.guests.length} guests, not ${n}`);
    const started = performance.now();
    await remove(instanceId);
    const ms = performance.now() - started;
    const left = await findInstance(instanceId);
    if (!holdsNothing(left)) throw new Error(`${label}: left ${JSON.stringify(left)}`);
    return ms;
  } finally {
    await removeInstance(instanceId);
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const available = await qemuAvailable();
  if (!available.ok) {
    console.log(`skipped: real guests need ${available.why}`);
    return;
  }
  console.log(`harrow down with N running guests (load average ${loadavg()[0]!.toFixed(1)})`);
  console.log(
    'N  removeInstance  bin/harrow down  baseline (sequential)  baseline / removeInstance',
  );
  for (const n of GUEST_COUNTS) {
    const removal = await timed('removal', n, async (id) => {
      await removeInstance(id);
    });
    const command = await timed('command', n, async (id) => {
      const r = spawnSync(join(ROOT, 'bin', 'harrow'), ['down', '--instance-id', id], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`harrow down: ${r.stderr}`);
    });
    const baseline = await timed('baseline', n, sequentialRemoval);
    const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `${String(n).padEnd(3)}${s(removal).padEnd(16)}${s(command).padEnd(17)}${s(baseline).padEnd(23)}${(baseline / removal).toFixed(1)}x`,
    );
  }
}

await main();
