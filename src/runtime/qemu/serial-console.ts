// The guest's ttyS0 as QEMU serves it: a chardev socket (one client at a time) that the runtime holds for the guest's
// whole life, logging every byte and fanning it out to the console connections.
import type { Socket } from 'node:net';
import { ConsoleHub } from '../console.ts';
import type { ConsoleLog } from '../console.ts';
import { connectUnix } from './json-stream.ts';

export class GuestSerial {
  readonly hub: ConsoleHub;
  private socket: Socket | undefined;

  constructor(
    readonly socketPath: string,
    log: ConsoleLog,
  ) {
    this.hub = new ConsoleHub((data) => {
      if (this.socket && !this.socket.destroyed) this.socket.write(data);
    }, log);
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /** QEMU discards serial output while no client is connected, so this runs before the guest's CPUs do. */
  async connect(timeoutMs: number): Promise<void> {
    if (this.connected) return;
    const socket = await connectUnix(this.socketPath, timeoutMs);
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.hub.output(chunk));
    socket.on('error', () => socket.destroy());
  }

  /** Ends the console connections and lets go of QEMU's socket (the log stays). */
  close(reason: string): void {
    this.hub.closeAll(reason);
    this.socket?.destroy();
    this.socket = undefined;
  }
}
