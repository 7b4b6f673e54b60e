// The client's HTTP transport on node:http/node:https. Node's global fetch loads its own copy of undici on first use,
// and a custom CA needs a second (the npm package's Agent): together a good part of a short command's start-up, more
// than the request itself. node:https takes the CA directly and is already part of Node's start-up snapshot.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** What the client reads of an answer: its status, headers, and the body once, as text or as a stream of chunks. */
export class HttpAnswer {
  constructor(private readonly message: IncomingMessage) {
    // A request aborted after its answer began (a watch stopped, a timeout) destroys the answer with an error: a
    // reader sees it through text() or chunks(); an answer nobody reads any more must not crash the process with it.
    message.on('error', () => undefined);
  }

  get status(): number {
    return this.message.statusCode ?? 0;
  }

  get statusText(): string {
    return this.message.statusMessage ?? '';
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** A header's value, repeated headers joined by ", " as fetch's Headers.get does; null when absent. */
  header(name: string): string | null {
    const value = this.message.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  private abortReason: Error | undefined;

  /** The request was aborted while its answer was read: a reader fails with `reason`, not a premature close. */
  abortedWith(reason: Error): void {
    this.abortReason = reason;
  }

  async text(): Promise<string> {
    let text = '';
    for await (const chunk of this.chunks()) text += chunk;
    return text;
  }

  /** The body as UTF-8 text chunks, as they arrive (a watch). */
  async *chunks(): AsyncIterable<string> {
    this.message.setEncoding('utf8');
    try {
      for await (const chunk of this.message) yield chunk as string;
    } catch (e) {
      throw this.abortReason ?? e;
    }
    if (this.abortReason) throw this.abortReason;
  }

  /** The body is not wanted: drop it and free the connection. */
  discard(): void {
    this.message.resume();
  }
}

/**
 * One client's connections: kept alive between requests (an agent's watches and writes share them), trusting `ca`
 * alone when one is given, as client-go does with a kubeconfig's certificate-authority — the server is the cluster's,
 * not the web's.
 */
export class Transport {
  private readonly agent: HttpAgent;
  private readonly tls: boolean;

  constructor(tls: boolean, ca: string | undefined) {
    this.tls = tls;
    this.agent = tls
      ? new HttpsAgent({ keepAlive: true, ...(ca !== undefined ? { ca } : {}) })
      : new HttpAgent({ keepAlive: true });
  }

  send(spec: HttpRequest): Promise<HttpAnswer> {
    const headers: Record<string, string | number> = { ...spec.headers };
    if (spec.body !== undefined) headers['content-length'] = Buffer.byteLength(spec.body);
    const options = { method: spec.method, headers, agent: this.agent };
    const signal = spec.signal;
    return new Promise<HttpAnswer>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      let answer: HttpAnswer | undefined;
      const request = (this.tls ? httpsRequest : httpRequest)(spec.url, options, (message) => {
        answer = new HttpAnswer(message);
        resolve(answer);
      });
      request.on('error', reject);
      if (signal) {
        // Destroyed without an error: a socket destroyed with one while it goes back to the agent's pool has nobody
        // listening for it. The waiting promise or the answer's reader gets the signal's reason instead. Aborting
        // ends the exchange only while it lasts: once the request closes, the connection may serve another one.
        const onAbort = (): void => {
          const reason = abortReason(signal);
          answer?.abortedWith(reason);
          reject(reason);
          request.destroy();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        request.once('close', () => signal.removeEventListener('abort', onAbort));
      }
      request.end(spec.body);
    });
  }

  /** Closes the idle connections kept for the next request. */
  close(): void {
    this.agent.destroy();
  }
}

/** What an aborted request fails with: the signal's reason (a TimeoutError for a timeout), as fetch does. */
const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error('the request was aborted');
