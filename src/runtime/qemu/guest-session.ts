// One running QEMU guest as the launcher sees it: its QMP and guest-agent connections, state, events and exec.
import type {
  ExecResult,
  GuestAgentInterface,
  GuestObservation,
  GuestSpec,
  GuestState,
  RuntimeEvent,
} from '../types.ts';
import { RotatingConsoleLog } from './console-log-file.ts';
import { isAlive, terminate, waitForExit } from './procfs.ts';
import { GuestAgentClient } from './qga.ts';
import { nicIds } from './qemu.ts';
import { QmpClient, queryRxFilter, queryStatus, type QmpEvent } from './qmp.ts';
import { GuestSerial } from './serial-console.ts';

export interface GuestPaths {
  dir: string;
  spec: string;
  qmp: string;
  agent: string;
  /** QEMU's chardev socket of ttyS0. */
  serialSocket: string;
  /** The bounded log of ttyS0 (see RotatingConsoleLog). */
  serialLog: string;
  pidFile: string;
}

/** How long to keep polling the agent for DHCP addresses after a boot before relying on events alone. */
const ADDRESS_POLL_MS = 60_000;

/** SHUTDOWN reasons (QAPI ShutdownCause) that mean the guest or Harrow asked for it, not a crash. */
const CLEAN_SHUTDOWN = new Set([
  'guest-shutdown',
  'host-qmp-quit',
  'host-qmp-system-reset',
  'guest-reset',
  'host-ui',
]);

export class GuestSession {
  state: GuestState = 'Starting';
  reason?: string;
  private qmp?: QmpClient;
  private agent?: GuestAgentClient;
  private agentReady = false;
  private osInfo?: Record<string, unknown>;
  private bootEpoch = 0;
  /** The boot whose agent awaitAgent() is already waiting for (one waiter per boot). */
  private agentWaiter = -1;
  private shutdownCause?: string;
  private stopRequested?: string;
  private detached = false;
  /** The guest's MAC per NIC device id, as last read from query-rx-filter. */
  private readonly guestMacs = new Map<string, string>();
  private lastAgentView = '';
  readonly serial: GuestSerial;

  constructor(
    readonly spec: GuestSpec,
    readonly paths: GuestPaths,
    readonly pid: number,
    private readonly emit: (event: RuntimeEvent) => void,
  ) {
    this.serial = new GuestSerial(paths.serialSocket, new RotatingConsoleLog(paths.serialLog));
  }

  get running(): boolean {
    return this.state === 'Starting' || this.state === 'Running';
  }

  /** Connects to a QEMU that runs (just started, or found again after a Harrow restart). */
  async attach(): Promise<void> {
    // QEMU creates its sockets before it daemonises, so a missing one is a guest started without a console.
    await this.serial.connect(2_000).catch(() => undefined);
    const qmp = await QmpClient.connect(this.paths.qmp, 15_000);
    this.qmp = qmp;
    qmp.onEvent((event) => this.onQmpEvent(event));
    void qmp.closed.then(() => this.onQmpClosed());
    await this.refreshGuestMacs();
    this.agent = await GuestAgentClient.connect(this.paths.agent, 15_000);
    void this.awaitAgent(this.bootEpoch);
  }

  private changed(): void {
    this.emit({ type: 'guest-changed', vmiUid: this.spec.vmiUid });
  }

  /** Reads the guest MACs; querying also re-arms NIC_RX_FILTER_CHANGED, which QEMU sends only once per query. */
  private async refreshGuestMacs(): Promise<boolean> {
    if (!this.qmp?.isOpen) return false;
    let changed = false;
    for (const filter of await queryRxFilter(this.qmp)) {
      if (this.guestMacs.get(filter.name) !== filter.mainMac) changed = true;
      this.guestMacs.set(filter.name, filter.mainMac);
    }
    return changed;
  }

  private onQmpEvent(event: QmpEvent): void {
    switch (event.event) {
      case 'NIC_RX_FILTER_CHANGED':
        // Also sent for multicast list changes; only a new main MAC is news.
        void this.refreshGuestMacs()
          .catch(() => false)
          .then((changed) => {
            if (changed) this.changed();
          });
        break;
      case 'RESET':
        // An in-guest reboot: QEMU keeps running, the guest boots again with the device MACs and a fresh agent.
        this.bootEpoch++;
        this.agentReady = false;
        this.agent?.invalidate();
        this.lastAgentView = '';
        this.changed();
        void this.awaitAgent(this.bootEpoch);
        break;
      case 'VSERPORT_CHANGE':
        if (event.data.open === true) this.changed();
        break;
      case 'SHUTDOWN':
        this.shutdownCause = typeof event.data.reason === 'string' ? event.data.reason : 'unknown';
        break;
      default:
        break;
    }
  }

  /** Waits for the agent of one boot to answer, then follows its DHCP progress for a while. */
  private async awaitAgent(epoch: number): Promise<void> {
    if (this.agentWaiter === epoch) return;
    this.agentWaiter = epoch;
    try {
      await this.followAgent(epoch);
    } finally {
      if (this.agentWaiter === epoch) this.agentWaiter = -1;
    }
  }

  private async followAgent(epoch: number): Promise<void> {
    const current = (): boolean =>
      !this.detached && this.running && epoch === this.bootEpoch && this.agent?.isOpen === true;
    while (current() && !this.agentReady) {
      try {
        await this.agent!.ping(1_000);
        if (!current()) return;
        this.agentReady = true;
        this.state = 'Running';
        this.osInfo ??= await this.agent!.osInfo(5_000).catch(() => undefined);
        this.changed();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const deadline = Date.now() + ADDRESS_POLL_MS;
    while (current() && this.agentReady && Date.now() < deadline) {
      const view = await this.agent!.networkInterfaces(3_000).catch(() => undefined);
      if (!current() || !view) return;
      const key = JSON.stringify(view);
      if (key !== this.lastAgentView) {
        this.lastAgentView = key;
        this.changed();
      }
      const wanted = this.spec.nics.length;
      const addressed = view.filter((nic) =>
        nic.ipAddresses.some((ip) => !ip.includes(':')),
      ).length;
      if (addressed >= wanted) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  private async onQmpClosed(): Promise<void> {
    if (this.detached) return;
    await waitForExit(this.pid, 5_000);
    this.agent?.close();
    this.agentReady = false;
    const cause = this.shutdownCause;
    let state: 'Stopped' | 'Failed';
    let reason: string;
    if (this.stopRequested) {
      state = 'Stopped';
      reason = this.stopRequested;
    } else if (cause && CLEAN_SHUTDOWN.has(cause)) {
      state = 'Stopped';
      reason = cause === 'guest-shutdown' ? 'guest powered off' : `QEMU shut down (${cause})`;
    } else {
      state = 'Failed';
      const tail = await this.serialTail(3);
      reason = cause
        ? `QEMU exited unexpectedly (shutdown cause ${cause})`
        : `QEMU exited unexpectedly${tail ? `; last console lines: ${tail}` : ''}`;
    }
    this.finish(state, reason);
  }

  /** Lets the CPUs of a guest started paused run (once its serial port is attached, so no output is lost). */
  async resume(): Promise<void> {
    await this.qmp?.execute('cont');
  }

  private finish(state: 'Stopped' | 'Failed', reason: string): void {
    if (!this.running) return;
    this.state = state;
    this.reason = reason;
    this.serial.close(`the guest stopped (${reason})`);
    this.guestMacs.clear();
    this.emit(
      state === 'Stopped'
        ? { type: 'guest-stopped', vmiUid: this.spec.vmiUid, reason }
        : { type: 'guest-failed', vmiUid: this.spec.vmiUid, reason },
    );
  }

  /** Records a guest whose QEMU is not running (found so after a Harrow restart, or never answered). */
  markGone(state: 'Stopped' | 'Failed', reason: string): void {
    this.state = state;
    this.reason = reason;
  }

  async serialTail(lines: number): Promise<string> {
    try {
      const text = (await this.serial.hub.log.read()).toString('utf8');
      // eslint-disable-next-line no-control-regex
      const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, '').replace(/\r/g, '');
      return clean.trim().split('\n').slice(-lines).join(' | ');
    } catch {
      return '';
    }
  }

  async observe(): Promise<GuestObservation> {
    if (this.running) await this.refreshGuestMacs().catch(() => false);
    const observation: GuestObservation = {
      state: this.state,
      nics: this.spec.nics.map((nic, index) => ({
        name: nic.name,
        deviceMac: nic.mac,
        // A stopped machine comes back with its device MAC; while running, QEMU's rx filter is the truth.
        guestMac: (this.running ? this.guestMacs.get(nicIds(index).id) : undefined) ?? nic.mac,
      })),
    };
    if (this.reason !== undefined) observation.reason = this.reason;
    if (this.running && this.agentReady && this.agent) {
      try {
        const interfaces: GuestAgentInterface[] = await this.agent.networkInterfaces(3_000);
        observation.agent = { interfaces };
        if (this.osInfo) observation.agent.osInfo = this.osInfo;
      } catch {
        // The agent went away (reboot, hang): undefined until it answers again.
        this.agentReady = false;
        void this.awaitAgent(this.bootEpoch);
      }
    }
    return observation;
  }

  async exec(argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
    const where = `guest-exec in ${this.spec.namespace}/${this.spec.name} (vmi ${this.spec.vmiUid})`;
    if (!this.running || !this.agent) throw new Error(`${where}: the guest is ${this.state}`);
    if (!this.agentReady) {
      // The agent may have come up since the last poll; give it one short chance before refusing.
      try {
        await this.agent.ping(1_000);
      } catch {
        throw new Error(`${where}: the guest agent is not connected (the guest is booting)`);
      }
    }
    const result = await this.agent.exec(argv, timeoutMs).catch((error: unknown) => {
      throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    });
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  }

  /** ACPI power button, then (after graceMs) QEMU's own quit, then SIGKILL. */
  async stop(graceMs: number, reason = 'stopped'): Promise<void> {
    if (!this.running) return;
    this.stopRequested = reason;
    if (graceMs > 0 && this.qmp?.isOpen) {
      await this.qmp.execute('system_powerdown').catch(() => undefined);
      if (await waitForExit(this.pid, graceMs)) return this.settle(reason);
      this.stopRequested = `${reason} (forced off after ${graceMs} ms)`;
    }
    if (this.qmp?.isOpen) {
      await this.qmp.execute('quit', undefined, 2_000).catch(() => undefined);
      if (await waitForExit(this.pid, 2_000)) return this.settle(this.stopRequested);
    }
    await terminate(this.pid, 1_000);
    await this.settle(this.stopRequested);
  }

  private async settle(reason: string): Promise<void> {
    // The QMP close handler reports the same outcome; whichever runs first wins, finish() ignores the second.
    this.agent?.close();
    this.qmp?.close();
    this.finish('Stopped', reason);
  }

  /** Forgets the connections without touching QEMU (runtime close). */
  detach(): void {
    this.detached = true;
    this.serial.close('the runtime let go of the guest');
    this.agent?.close();
    this.qmp?.close();
  }

  async processAlive(): Promise<boolean> {
    return isAlive(this.pid);
  }

  async vmStatus(): Promise<string | undefined> {
    if (!this.qmp?.isOpen) return undefined;
    return (await queryStatus(this.qmp)).status;
  }
}
