// Benchmark: the qemu runtime on this host — boot to agent, MAC-change event latency, restart to a new MAC, 8 guests at once, RSS.
// Run (root): node --import tsx bench/qemu.ts [--debian-only]   (prints figures; never asserts). Baseline: the same image
// booted by bare QEMU, interleaved with the boots through Harrow (bare, Harrow, Harrow, bare) so load drifts cancel.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createQemuRuntime, qemuAvailable, type QemuRuntime } from '../src/runtime/qemu/index.ts';
import { launchQemu } from '../src/runtime/qemu/qemu.ts';
import { GuestAgentClient } from '../src/runtime/qemu/qga.ts';
import { readPidFile, terminate } from '../src/runtime/qemu/procfs.ts';
import type { GuestDisk, GuestSpec, NetworkSpec, RuntimeEvent } from '../src/runtime/types.ts';
import { openImageStore, type ResolvedImage } from '../src/images/store.ts';
import { DEBIAN_IMAGE_NAME } from '../src/runtime/qemu/debian-image.ts';
import { prepareGuestDisks } from '../src/runtime/qemu/guest-disks.ts';

const GUESTS_AT_ONCE = 8;
const MEMORY_MIB = 128;
const DEBIAN_MEMORY_MIB = 384;
/** Boots of each kind for the Debian comparison; ABBA order. */
const DEBIAN_ROUNDS = 2;
const DEBIAN_TARGET_MS = 30_000;
const DEBIAN_TARGET_OVERHEAD = 0.1;
const debianOnly = process.argv.includes('--debian-only');

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const ms = (value: number): string => `${Math.round(value)} ms`;
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const mac = (n: number): string => `02:be:c0:00:00:${n.toString(16).padStart(2, '0')}`;

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? NaN);
}

async function until<T>(timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** The Debian guest's disks, as its VM's manifest gives them: the image as a containerDisk and a NoCloud seed. */
function debianDisks(image: ResolvedImage): GuestDisk[] {
  return [
    {
      name: 'containerdisk',
      source: { type: 'containerDisk', image: image.name, file: image.path, format: image.format },
    },
    {
      name: 'cloudinitdisk',
      source: {
        type: 'cloudInitNoCloud',
        userData: '#cloud-config\n',
        metaData: 'instance-id: bench-debian\nlocal-hostname: debian\n',
      },
    },
  ];
}

/**
 * Baseline for the Debian guest: bare QEMU with the same kernel line and the same disks (an overlay of the image and the
 * same NoCloud seed, made before the clock starts), no NIC and no pod: what the guest's own boot costs.
 */
async function bareDebianBoot(
  rt: QemuRuntime,
  dir: string,
  image: ResolvedImage,
): Promise<{ agentMs: number; rssKiB: number }> {
  if (image.boot.type !== 'kernel') throw new Error(`${image.name} does not boot by kernel`);
  const disksDir = join(dir, 'bare-debian');
  await mkdir(disksDir, { recursive: true });
  try {
    const drives = await prepareGuestDisks(disksDir, debianDisks(image), () => {
      throw new Error('no persistent disks in the bench');
    });
    return await bareBoot(rt, dir, {
      kernel: image.boot.kernel,
      initrd: image.boot.initrd,
      append: image.boot.append,
      memoryMiB: DEBIAN_MEMORY_MIB,
      drives,
    });
  } finally {
    await rm(disksDir, { recursive: true, force: true });
  }
}

/** The Debian guest through the runtime: a containerDisk overlay, a NoCloud seed, a NIC in its pod, to the agent. */
async function debianThroughHarrow(
  rt: QemuRuntime,
  network: NetworkSpec,
  image: ResolvedImage,
): Promise<number> {
  const nicMac = mac(0x60);
  await rt.setupPod({
    podUid: 'bench-pod-debian',
    namespace: 'default',
    podName: 'virt-launcher-debian',
    interfaces: [
      { name: 'default', network, podInterfaceName: 'eth0', mac: nicMac, binding: 'bridge' },
    ],
  });
  const started = Date.now();
  await rt.startGuest({
    vmiUid: 'bench-vmi-debian',
    podUid: 'bench-pod-debian',
    namespace: 'default',
    name: 'debian',
    cpus: 1,
    memoryMiB: DEBIAN_MEMORY_MIB,
    nics: [{ name: 'default', mac: nicMac, podInterfaceName: 'eth0', networkId: network.id }],
    disks: debianDisks(image),
    boot: image.boot,
  });
  await until(900_000, async () =>
    (await rt.observe('bench-vmi-debian'))?.agent ? true : undefined,
  );
  const agentMs = Date.now() - started;
  await rt.stopGuest('bench-vmi-debian', { graceMs: 0 });
  await rt.teardownPod('bench-pod-debian');
  return agentMs;
}

/** Baseline: bare QEMU, same image and flags, no NIC, no pod: what booting to a guest agent costs on its own. */
async function bareBoot(
  rt: QemuRuntime,
  dir: string,
  guest: Partial<Parameters<typeof launchQemu>[1]> = {},
): Promise<{ agentMs: number; rssKiB: number }> {
  const paths = {
    qmp: join(dir, 'bare-qmp.sock'),
    agent: join(dir, 'bare-qga.sock'),
    pid: join(dir, 'bare.pid'),
    serial: join(dir, 'bare.log'),
  };
  const started = Date.now();
  await launchQemu(rt.hostNamespace, {
    name: 'harrow-bench-bare',
    kernel: rt.image.kernel,
    initrd: rt.image.initrd,
    memoryMiB: MEMORY_MIB,
    cpus: 1,
    serialLog: paths.serial,
    qmpSocket: paths.qmp,
    agentSocket: paths.agent,
    pidFile: paths.pid,
    nics: [],
    tbSizeMiB: 32,
    ...guest,
  });
  const pid = (await readPidFile(paths.pid))!;
  const agent = await GuestAgentClient.connect(paths.agent);
  try {
    for (;;) {
      try {
        await agent.ping(1_000);
        break;
      } catch {
        // Generous: under TCG on a loaded host a Debian boot has taken minutes.
        if (Date.now() - started > 900_000) throw new Error('bare guest agent never answered');
      }
    }
    return { agentMs: Date.now() - started, rssKiB: await rssKiB(pid) };
  } finally {
    agent.close();
    await terminate(pid);
  }
}

/** The Debian guest's boot to its agent, bare QEMU vs through Harrow, in the same run. */
async function debianComparison(
  rt: QemuRuntime,
  stateDir: string,
  network: NetworkSpec,
): Promise<void> {
  const debian = await openImageStore().resolve(DEBIAN_IMAGE_NAME);
  if (!debian) {
    console.log(`Debian guest: skipped (no ${DEBIAN_IMAGE_NAME} image: harrow image build debian)`);
  } else {
    const bareMs: number[] = [];
    const harrowMs: number[] = [];
    for (let round = 0; round < DEBIAN_ROUNDS; round++) {
      const bareFirst = round % 2 === 0;
      if (bareFirst) bareMs.push((await bareDebianBoot(rt, stateDir, debian)).agentMs);
      harrowMs.push(await debianThroughHarrow(rt, network, debian));
      if (!bareFirst) bareMs.push((await bareDebianBoot(rt, stateDir, debian)).agentMs);
    }
    const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
    const ratio = mean(harrowMs) / mean(bareMs);
    console.log(
      `Debian 12 (systemd, cloud-init), -m ${DEBIAN_MEMORY_MIB}, boot to guest agent, ${DEBIAN_ROUNDS} each interleaved:\n` +
        `  bare QEMU (same overlay and seed, no NIC, no pod):            ${bareMs.map(ms).join(', ')}; mean ${ms(mean(bareMs))}\n` +
        `  through Harrow (overlay, NoCloud seed, NIC in its pod):       ${harrowMs.map(ms).join(', ')}; mean ${ms(mean(harrowMs))}\n` +
        `  ratio Harrow / bare ${ratio.toFixed(2)} (target < ${(1 + DEBIAN_TARGET_OVERHEAD).toFixed(2)}); ` +
        `Harrow mean ${mean(harrowMs) < DEBIAN_TARGET_MS ? 'under' : 'over'} the ${ms(DEBIAN_TARGET_MS)} target`,
    );
  }
}

async function main(): Promise<void> {
  const available = await qemuAvailable();
  if (!available.ok) {
    console.log(`qemu bench skipped: ${available.why}`);
    return;
  }
  const stateDir = await mkdtemp('/tmp/harrow-bench-');
  const rt = await createQemuRuntime({ instanceId: `bench${process.pid}`, stateDir });
  const events: Array<RuntimeEvent & { at: number }> = [];
  rt.subscribe((event) => events.push({ ...event, at: Date.now() }));
  const stop = (): void => {
    void rt.destroyAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const network: NetworkSpec = {
    id: 'bench',
    name: 'default/bench',
    cidr: '198.18.9.0/24',
    gateway: '198.18.9.1',
    dhcpRange: { start: '198.18.9.10', end: '198.18.9.200' },
  };
  const podUid = (n: number): string => `bench-pod-${n}`;
  const spec = (n: number, nicMac: string): GuestSpec => ({
    vmiUid: `bench-vmi-${n}`,
    podUid: podUid(n),
    namespace: 'default',
    name: `bench${n}`,
    cpus: 1,
    memoryMiB: MEMORY_MIB,
    nics: [{ name: 'default', mac: nicMac, podInterfaceName: 'eth0', networkId: network.id }],
  });
  const setupPod = (n: number, nicMac: string) =>
    rt.setupPod({
      podUid: podUid(n),
      namespace: 'default',
      podName: `virt-launcher-bench${n}`,
      interfaces: [
        { name: 'default', network, podInterfaceName: 'eth0', mac: nicMac, binding: 'bridge' },
      ],
    });
  const agentSees = (vmiUid: string, wanted: string) => async (): Promise<true | undefined> => {
    const o = await rt.observe(vmiUid);
    return o?.agent?.interfaces.some(
      (nic) => nic.mac === wanted && nic.ipAddresses.some((ip) => !ip.includes(':')),
    )
      ? true
      : undefined;
  };

  console.log(
    `host: ${availableParallelism()} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; TCG, ${MEMORY_MIB} MiB guests`,
  );
  try {
    if (debianOnly) {
      await rt.ensureNetwork(network);
      await debianComparison(rt, stateDir, network);
      return;
    }
    const bare = await bareBoot(rt, stateDir);
    console.log(
      `baseline  bare QEMU boot to guest agent (no NIC, no pod):     ${ms(bare.agentMs)}, RSS ${Math.round(bare.rssKiB / 1024)} MiB`,
    );

    await rt.ensureNetwork(network);
    const podStart = Date.now();
    await setupPod(0, mac(1));
    const podMs = Date.now() - podStart;
    const bootStart = Date.now();
    await rt.startGuest(spec(0, mac(1)));
    const processMs = Date.now() - bootStart;
    await until(120_000, async () => ((await rt.observe('bench-vmi-0'))?.agent ? true : undefined));
    const agentMs = Date.now() - bootStart;
    await until(60_000, agentSees('bench-vmi-0', mac(1)));
    const addressMs = Date.now() - bootStart;
    console.log(`setupPod (netns, veth with the MAC, bridge port, spoof check):   ${ms(podMs)}`);
    console.log(
      `startGuest → QEMU running (bridge binding, tap, QMP):            ${ms(processMs)}`,
    );
    console.log(`startGuest → guest agent ready:                                  ${ms(agentMs)}`);
    console.log(
      `startGuest → agent reports the DHCP address:                     ${ms(addressMs)}`,
    );

    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const target = i % 2 === 0 ? mac(0x80 + i) : mac(1);
      const sent = Date.now();
      await rt.exec('bench-vmi-0', ['ip', 'link', 'set', 'eth0', 'address', target]);
      const event = await until(5_000, async () =>
        events.find(
          (e) => e.type === 'guest-changed' && e.vmiUid === 'bench-vmi-0' && e.at >= sent,
        ),
      );
      const seen = await rt.observe('bench-vmi-0');
      if (seen?.nics[0]?.guestMac !== target)
        throw new Error(`observe shows ${seen?.nics[0]?.guestMac}, wanted ${target}`);
      latencies.push(event.at - sent);
    }
    console.log(
      `in-guest MAC change → guest-changed event (guest-exec sent → event), median of 5: ${ms(median(latencies))} (${latencies.map(ms).join(', ')})`,
    );

    // The manifest-driven change: a restart onto a new pod whose interface has the new MAC.
    const restartStart = Date.now();
    await rt.stopGuest('bench-vmi-0', { graceMs: 20_000 });
    const stoppedMs = Date.now() - restartStart;
    await rt.teardownPod(podUid(0));
    await setupPod(0, mac(2));
    await rt.startGuest(spec(0, mac(2)));
    await until(120_000, agentSees('bench-vmi-0', mac(2)));
    console.log(
      `restart to a new MAC, until the guest reports it with an address: ${ms(Date.now() - restartStart)} (of which clean stop ${ms(stoppedMs)})`,
    );
    await rt.stopGuest('bench-vmi-0', { graceMs: 0 });
    await rt.teardownPod(podUid(0));

    await debianComparison(rt, stateDir, network);

    const ids = Array.from({ length: GUESTS_AT_ONCE }, (_, i) => i + 1);
    for (const n of ids) await setupPod(n, mac(0x10 + n));
    const burstStart = Date.now();
    await Promise.all(ids.map((n) => rt.startGuest(spec(n, mac(0x10 + n)))));
    const allRunningMs = Date.now() - burstStart;
    const ready = await Promise.all(
      ids.map(async (n) => {
        await until(300_000, agentSees(`bench-vmi-${n}`, mac(0x10 + n)));
        return Date.now() - burstStart;
      }),
    );
    const rss = await Promise.all(ids.map((n) => rssKiB(rt.guestPid(`bench-vmi-${n}`)!)));
    const leases = (await rt.leases(network.id)).filter((lease) =>
      ids.some((n) => lease.mac === mac(0x10 + n)),
    );
    console.log(
      `${GUESTS_AT_ONCE} guests started at once: all QEMU running after ${ms(allRunningMs)}; each with agent + address after ${ready.map(ms).join(', ')}; all after ${ms(Math.max(...ready))}; ${leases.length} DHCP leases`,
    );
    console.log(
      `memory per guest (QEMU RSS after boot, -m ${MEMORY_MIB}): mean ${Math.round(rss.reduce((a, b) => a + b, 0) / rss.length / 1024)} MiB, min ${Math.round(Math.min(...rss) / 1024)} MiB, max ${Math.round(Math.max(...rss) / 1024)} MiB`,
    );
  } finally {
    await rt.destroyAll();
    await rm(stateDir, { recursive: true, force: true });
  }
}

await main();
