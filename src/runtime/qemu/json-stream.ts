// Newline-delimited JSON over a unix socket: the framing that QMP and the guest agent share.
import { connect, type Socket } from 'node:net';

export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Splits a byte stream into JSON objects; 0xFF bytes (the guest agent's sync delimiter) and garbage lines are dropped. */
export class JsonLineDecoder {
  private pending = '';

  push(chunk: Buffer): JsonObject[] {
    const bytes = chunk.includes(0xff) ? Buffer.from(chunk.filter((byte) => byte !== 0xff)) : chunk;
    this.pending += bytes.toString('utf8');
    const messages: JsonObject[] = [];
    let newline = this.pending.indexOf('\n');
    while (newline >= 0) {
      const line = this.pending.slice(0, newline).trim();
      this.pending = this.pending.slice(newline + 1);
      if (line) {
        try {
          const value: unknown = JSON.parse(line);
          if (isObject(value)) messages.push(value);
        } catch {
          // A partial message from before a resync; the protocol layer recovers by id.
        }
      }
      newline = this.pending.indexOf('\n');
    }
    return messages;
  }
}

/** Connects to a unix socket, retrying while it does not exist yet or refuses (the server may still be starting). */
export async function connectUnix(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect({ path });
        socket.once('connect', () => {
          socket.removeAllListeners('error');
          resolve(socket);
        });
        socket.once('error', reject);
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
