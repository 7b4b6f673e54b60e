// --etcd and --etcd-prefix, read the same way by every command that opens a store (serve, audit verify).
import type { HarrowOptions } from '../server/harrow.ts';
import { UsageError } from './errors.ts';

/** --etcd / --etcd-prefix as the store to use; undefined: the default SQLite file. `command` names the command in errors. */
export function storeFlags(v: Record<string, unknown>, command = 'serve'): HarrowOptions['store'] {
  const etcd = v.etcd as string | undefined;
  const prefix = v['etcd-prefix'] as string | undefined;
  if (etcd === undefined) {
    if (prefix !== undefined)
      throw new UsageError(`${command}: --etcd-prefix needs --etcd`, command);
    return undefined;
  }
  const endpoints = etcd
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+$/.test(e))
      throw new UsageError(
        `${command}: --etcd ${e}: expected a client URL like http://127.0.0.1:2379`,
        command,
      );
  }
  if (endpoints.length === 0)
    throw new UsageError(`${command}: --etcd: at least one client URL`, command);
  if (prefix !== undefined && !prefix.startsWith('/'))
    throw new UsageError(`${command}: --etcd-prefix ${prefix}: must start with /`, command);
  return { kind: 'etcd', endpoints, ...(prefix !== undefined ? { prefix } : {}) };
}
