// Reads a Kubernetes watch response: newline-delimited JSON events ({type, object}), split across arbitrary chunks.
import type { KubeObject } from '../resources/meta.ts';
import type { KubeStatus } from './errors.ts';

export type WatchEvent<T extends KubeObject = KubeObject> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }
  | { type: 'ERROR'; object: KubeStatus };

/** Accumulates text chunks and hands back each complete, non-empty line. */
export class LineSplitter {
  private buffer = '';

  push(chunk: string): string[] {
    this.buffer += chunk;
    const parts = this.buffer.split('\n');
    this.buffer = parts.pop() ?? '';
    return parts.map((l) => l.trim()).filter((l) => l !== '');
  }

  /** What is left when the stream ends (a last line without a newline). */
  flush(): string[] {
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest === '' ? [] : [rest];
  }
}

/** Parses one watch line; throws on anything that is not a watch event. */
export function parseWatchLine<T extends KubeObject = KubeObject>(line: string): WatchEvent<T> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error(`watch stream: not JSON: ${line.slice(0, 200)}`);
  }
  const e = v as { type?: unknown; object?: unknown };
  const types = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'];
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.type !== 'string' ||
    !types.includes(e.type) ||
    typeof e.object !== 'object' ||
    e.object === null
  ) {
    throw new Error(`watch stream: not a watch event: ${line.slice(0, 200)}`);
  }
  return v as WatchEvent<T>;
}
