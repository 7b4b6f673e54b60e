// The last state of deleted objects, kept per key until their cleanup succeeded.
import type { KubeObject } from '../../resources/meta.ts';
import { objectKey } from './keys.ts';

/**
 * Remembers the last state of objects deleted from the store, per key, until a reconcile has cleaned up after them
 * (client-go's DeletedFinalStateUnknown role): the reconciler gets only the key, and a deleted object's uid is otherwise gone.
 */
export class Tombstones<T extends KubeObject = KubeObject> {
  private readonly byKey = new Map<string, T[]>();

  add(o: T): void {
    const key = objectKey(o);
    const list = this.byKey.get(key);
    if (list) {
      if (!list.some((x) => x.metadata.uid === o.metadata.uid)) list.push(o);
    } else this.byKey.set(key, [o]);
  }

  get(key: string): readonly T[] {
    return this.byKey.get(key) ?? [];
  }

  /** Forgets one deleted object once its cleanup succeeded. */
  done(key: string, uid: string | undefined): void {
    const list = this.byKey.get(key);
    if (!list) return;
    const rest = list.filter((x) => x.metadata.uid !== uid);
    if (rest.length === 0) this.byKey.delete(key);
    else this.byKey.set(key, rest);
  }
}
