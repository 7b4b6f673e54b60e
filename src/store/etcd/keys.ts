// The etcd store's key layout under its prefix.

/**
 * Keys: `<prefix>/<kind>/o/<namespace>\0<name>` (the NUL sorts a namespace's objects before any longer namespace's, so
 * key order is (namespace, name) order), `<prefix>/<kind>/b` the batch record, `<prefix>/_compacted` the compaction mark.
 * A batch that writes one key twice can put it only once in a Txn, so it also writes the kind's batch record listing its
 * changes in order; watchers read that record instead of the key events of its revision.
 */
export class EtcdKeys {
  constructor(readonly prefix: string) {}

  object(kind: string, namespace: string, name: string): string {
    return `${this.prefix}/${kind}/o/${namespace}\u0000${name}`;
  }

  objectsRange(kind: string, namespace: string | undefined): [string, string] {
    const base = `${this.prefix}/${kind}/o/`;
    return namespace === undefined
      ? [base, `${this.prefix}/${kind}/o0`]
      : [`${base}${namespace}\u0000`, `${base}${namespace}\u0001`];
  }

  /** Objects and the batch record of a kind: what a watch of the kind follows. */
  kindRange(kind: string): [string, string] {
    return [`${this.prefix}/${kind}/`, `${this.prefix}/${kind}0`];
  }

  batch(kind: string): string {
    return `${this.prefix}/${kind}/b`;
  }

  compacted(): string {
    return `${this.prefix}/_compacted`;
  }

  nameOf(kind: string, key: string): { namespace: string; name: string } {
    const rest = key.slice(`${this.prefix}/${kind}/o/`.length);
    const nul = rest.indexOf('\u0000');
    return { namespace: rest.slice(0, nul), name: rest.slice(nul + 1) };
  }
}
