// Read-modify-write of one object under optimistic concurrency: on a resourceVersion conflict, read again and redo.
import { Conflict, NotFound } from '../resources/errors.ts';
import type { KubeObject, ObjectRef } from '../resources/meta.ts';
import type { ResourceStore } from '../store/types.ts';

/**
 * Applies `mutate` to the stored object and writes it; `mutate` returns false when nothing needs writing. Returns the
 * written object, the unchanged one, or undefined when the object is gone (or `expectUid` no longer matches).
 * `current`, when given, is used (and mutated) for the first attempt instead of reading the store.
 */
export async function updateWithRetry<T extends KubeObject>(
  store: ResourceStore,
  ref: ObjectRef,
  mutate: (o: T) => boolean,
  options: { expectUid?: string; attempts?: number; current?: T } = {},
): Promise<T | undefined> {
  const attempts = options.attempts ?? 8;
  // A caller that just read the object passes it (a copy it may give away) to save the first read.
  let known: T | undefined = options.current;
  for (let attempt = 1; ; attempt++) {
    const current = known ?? ((await store.get(ref)) as T | undefined);
    known = undefined;
    if (!current) return undefined;
    if (options.expectUid !== undefined && current.metadata.uid !== options.expectUid)
      return undefined;
    if (!mutate(current)) return current;
    try {
      return (await store.update(current)) as T;
    } catch (e) {
      if (e instanceof NotFound) return undefined;
      if (!(e instanceof Conflict) || attempt >= attempts) throw e;
    }
  }
}

/** Deletes an object, treating "already gone" as done. */
export async function deleteIfExists(store: ResourceStore, ref: ObjectRef): Promise<boolean> {
  try {
    await store.delete(ref);
    return true;
  } catch (e) {
    if (e instanceof NotFound) return false;
    throw e;
  }
}
