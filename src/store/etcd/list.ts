// The etcd store's reads of a kind: a list is ranges over the kind's keys read at one snapshot revision, in chunks,
// filtered and paged with continue tokens as the SQLite store pages.
import { Expired } from '../../resources/errors.ts';
import type { KubeObject } from '../../resources/meta.ts';
import { encodeContinue, pageOf } from '../continue-token.ts';
import type { ListOptions } from '../types.ts';
import { withRv } from './batch.ts';
import { utf8, type EtcdConnection } from './connection.ts';

const LIST_CHUNK = 1000;

export interface Scan {
  json: string[];
  parsed: KubeObject[] | undefined;
  revision: number;
  continue: string | undefined;
}

export async function scan(
  conn: EtcdConnection,
  kind: string,
  options: ListOptions,
): Promise<Scan> {
  conn.assertOpen();
  const { keys } = conn;
  const { filter, namespace } = options;
  const { pageSize, token } = pageOf(options);
  if (token && token.revision + 1 < conn.compacted) {
    throw new Expired(
      `The provided continue parameter is too old to display a consistent list result (${token.revision} < ${conn.compacted}). Start a new list without the continue parameter.`,
    );
  }
  const [rangeStart, rangeEnd] = keys.objectsRange(kind, namespace);
  // Like the SQLite store, a continued page reads the current state after the last key and reports the first page's
  // revision; the chunks of one call read one snapshot.
  let from = token ? `${keys.object(kind, token.namespace, token.name)}\u0000` : rangeStart;
  const chunk =
    pageSize === undefined ? LIST_CHUNK : filter ? Math.max(pageSize + 1, 512) : pageSize + 1;
  const json: string[] = [];
  const parsed: KubeObject[] | undefined = filter ? [] : undefined;
  let snapshot: number | undefined;
  let lastKept: { namespace: string; name: string } | undefined;
  let more = false;
  for (;;) {
    const res = await conn.range({
      key: utf8(from),
      range_end: utf8(rangeEnd),
      limit: chunk,
      ...(snapshot !== undefined ? { revision: snapshot } : {}),
    });
    snapshot ??= Number(res.header.revision);
    for (const kv of res.kvs) {
      const text = withRv(kv.value.toString('utf8'), kv.mod_revision);
      let object: KubeObject | undefined;
      if (filter) {
        object = JSON.parse(text) as KubeObject;
        if (!filter(object)) continue;
      }
      if (pageSize !== undefined && json.length === pageSize) {
        more = true;
        break;
      }
      json.push(text);
      if (object) parsed?.push(object);
      lastKept = keys.nameOf(kind, kv.key.toString('utf8'));
    }
    const last = res.kvs[res.kvs.length - 1];
    if (more || !res.more || !last) break;
    from = `${last.key.toString('utf8')}\u0000`;
  }
  const revision = token ? token.revision : (snapshot as number);
  return {
    json,
    parsed,
    revision,
    continue: more && lastKept ? encodeContinue({ revision, ...lastKept }) : undefined,
  };
}
