// Whether the UI can reach the server: every request reports in; while it cannot, the server's health is probed with
// backoff and the live lists retry the moment it answers again. Pages mark what they show as stale meanwhile.
import { useSyncExternalStore } from 'react';
import { sleepOrWake } from './wake.ts';

export type ConnectionPhase = 'connected' | 'reconnecting' | 'disconnected';

export interface ConnectionState {
  phase: ConnectionPhase;
  /** When the server last answered (ms since the epoch); undefined before the first answer. */
  lastContact: number | undefined;
  /** When the next probe runs while not connected (ms since the epoch). */
  nextRetry: number | undefined;
  /** What the last failure said (a network error's text), while not connected. */
  reason: string | undefined;
}

/** A failure this long without an answer in between turns "reconnecting" into "disconnected". */
export const DISCONNECTED_AFTER_MS = 2500;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 8000;
/** While connected, the server is asked for its health this often, so a server that hangs is noticed too. */
const HEARTBEAT_MS = 10_000;
const PROBE_TIMEOUT_MS = 2000;

export class ConnectionMonitor {
  private state: ConnectionState = {
    phase: 'connected',
    lastContact: undefined,
    nextRetry: undefined,
    reason: undefined,
  };
  private readonly listeners = new Set<() => void>();
  private readonly waiters = new Set<() => void>();
  private failingSince: number | undefined;
  private retryMs = FIRST_RETRY_MS;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private escalate: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly probe: (signal: AbortSignal) => Promise<void>) {
    this.schedule(HEARTBEAT_MS);
  }

  snapshot = (): ConnectionState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The server answered (any HTTP status: it is there). */
  reportContact(): void {
    const wasDown = this.state.phase !== 'connected';
    this.failingSince = undefined;
    this.retryMs = FIRST_RETRY_MS;
    if (this.escalate !== undefined) clearTimeout(this.escalate);
    this.escalate = undefined;
    const now = Date.now();
    // Many answers arrive per second; listeners hear only of changes in phase, and of contact at most once a second.
    const quiet =
      !wasDown && this.state.lastContact !== undefined && now - this.state.lastContact < 1000;
    this.state = quiet
      ? this.state
      : { phase: 'connected', lastContact: now, nextRetry: undefined, reason: undefined };
    if (!quiet) this.emit();
    if (wasDown) {
      this.schedule(HEARTBEAT_MS);
      for (const wake of [...this.waiters]) wake();
    }
  }

  /** A request could not reach the server (connection refused or reset, a stream cut off). */
  reportFailure(reason: string): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.failingSince === undefined) {
      this.failingSince = now;
      this.escalate = setTimeout(() => {
        if (this.failingSince === undefined) return;
        this.state = { ...this.state, phase: 'disconnected' };
        this.emit();
      }, DISCONNECTED_AFTER_MS);
      this.schedule(FIRST_RETRY_MS);
    }
    const phase =
      now - this.failingSince >= DISCONNECTED_AFTER_MS ? 'disconnected' : 'reconnecting';
    if (this.state.phase !== phase || this.state.reason !== reason) {
      this.state = { ...this.state, phase, reason };
      this.emit();
    }
  }

  /** Probes at once (the "Retry now" button). */
  retryNow(): void {
    this.retryMs = FIRST_RETRY_MS;
    this.schedule(0);
  }

  /**
   * Resolves after `ms`, or earlier when the server answers again after a failure, so that lists re-list as soon as
   * the server is back instead of at their own backoff's next step.
   */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return sleepOrWake(ms, signal, this.waiters);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.escalate !== undefined) clearTimeout(this.escalate);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.failingSince !== undefined) {
      this.state = { ...this.state, nextRetry: Date.now() + ms };
      this.emit();
    }
    this.timer = setTimeout(() => void this.runProbe(), ms);
  }

  private async runProbe(): Promise<void> {
    const abort = new AbortController();
    const t = setTimeout(() => abort.abort(), PROBE_TIMEOUT_MS);
    try {
      await this.probe(abort.signal);
      this.reportContact();
      this.schedule(HEARTBEAT_MS);
    } catch (e) {
      this.reportFailure(abort.signal.aborted ? 'the server did not answer in time' : errorText(e));
      this.schedule(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    } finally {
      clearTimeout(t);
    }
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The monitor's state in a component, re-rendered when it changes. */
export function useConnection(monitor: ConnectionMonitor): ConnectionState {
  return useSyncExternalStore(monitor.subscribe, monitor.snapshot);
}
