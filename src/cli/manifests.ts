// Reads manifest files for `create -f` and `delete -f`: YAML or JSON, several documents, `List`s expanded, `-` for stdin.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../resources/meta.ts';
import { apiVersionOf, KINDS, type KindInfo } from '../resources/kinds.ts';
import { type CliIO } from './context.ts';
import { CliError } from './errors.ts';

export interface Manifest {
  /** `file#n` (1-based document number), for messages. */
  source: string;
  info: KindInfo;
  object: KubeObject;
}

async function readAll(io: CliIO, file: string): Promise<string> {
  if (file === '-') {
    let text = '';
    for await (const chunk of io.stdin())
      text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    return text;
  }
  try {
    return await readFile(resolve(io.cwd, file), 'utf8');
  } catch (e) {
    throw new CliError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

const record = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every object in the text, checked to be a kind Harrow serves under its own apiVersion. */
export function parseManifests(text: string, file: string): Manifest[] {
  const out: Manifest[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const source = `${file}#${i + 1}`;
    if (doc.errors.length > 0)
      throw new CliError(`${source}: not YAML or JSON: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const items =
      record(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
    items.forEach((item: unknown, j) => {
      const where = items.length > 1 || item !== value ? `${source} items[${j}]` : source;
      if (!record(item)) throw new CliError(`${where}: not an object`);
      const kind = item.kind;
      if (typeof kind !== 'string' || kind === '') throw new CliError(`${where}: kind is required`);
      const info = KINDS.find((k) => k.kind === kind);
      if (!info) throw new CliError(`${where}: kind ${kind} is not served by Harrow`);
      if (item.apiVersion !== apiVersionOf(info)) {
        throw new CliError(
          `${where}: apiVersion ${JSON.stringify(item.apiVersion)} does not serve ${kind} (Harrow serves it as ${apiVersionOf(info)})`,
        );
      }
      if (!record(item.metadata)) throw new CliError(`${where}: metadata is required`);
      out.push({ source: where, info, object: item as unknown as KubeObject });
    });
  });
  return out;
}

export async function readManifests(io: CliIO, file: string): Promise<Manifest[]> {
  const manifests = parseManifests(await readAll(io, file), file === '-' ? 'stdin' : file);
  if (manifests.length === 0) throw new CliError(`${file === '-' ? 'stdin' : file}: no objects`);
  return manifests;
}

/** The namespace an object goes to: its own, or -n; they must agree when both are given. */
export function namespaceFor(
  m: Manifest,
  flagNamespace: string | undefined,
  fallback: () => string,
): string | undefined {
  if (!m.info.namespaced) return undefined;
  const own = m.object.metadata.namespace;
  if (own !== undefined && own !== '' && flagNamespace !== undefined && own !== flagNamespace) {
    throw new CliError(
      `${m.source}: the object's namespace ${own} does not match -n ${flagNamespace}`,
    );
  }
  return own !== undefined && own !== '' ? own : (flagNamespace ?? fallback());
}
