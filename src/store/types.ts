// The ResourceStore contract: what every backing store (SQLite embedded, etcd) offers the apiserver and the controllers.
import type { KubeObject, ObjectRef } from '../resources/meta.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  /** The object after the change (for DELETED: the last state, with the deletion's resourceVersion). */
  object: KubeObject;
  /** `object` as the store encoded it, when the store keeps that text: a watcher that forwards it sends these bytes. */
  json?: string;
}

/**
 * One write of an atomic batch. Preconditions:
 * - create: fails with AlreadyExists when the key exists.
 * - update: fails with NotFound when absent; when `object.metadata.resourceVersion` is set it must equal the stored one
 *   (Conflict otherwise); `metadata.uid`, `creationTimestamp` are kept from the stored object; `generation` is bumped
 *   when `spec` changed.
 * - delete: fails with NotFound when absent; when `resourceVersion` is given it must match (Conflict otherwise).
 */
export type WriteOp =
  | { type: 'create'; object: KubeObject }
  | { type: 'update'; object: KubeObject }
  | { type: 'delete'; ref: ObjectRef; resourceVersion?: string };

export interface ListOptions {
  namespace?: string;
  /** At most this many items; the result then carries `continue` when more remain. */
  limit?: number;
  /** Opaque token from a previous page. */
  continue?: string;
  /** Items for which this returns false are skipped (they do not count towards `limit`). */
  filter?: (o: KubeObject) => boolean;
}

/** A test of an object's metadata.labels alone (a label selector): a store that keeps labels apart tests it unparsed. */
export type LabelsFilter = (labels: Readonly<Record<string, string>>) => boolean;

export interface ListResult {
  items: KubeObject[];
  /** The store revision the list reflects; a watch from here misses nothing. */
  resourceVersion: string;
  continue?: string;
}

/** A list answered with each object's stored JSON text (resourceVersion included), for callers that only forward it. */
export interface RawListResult {
  json: string[];
  resourceVersion: string;
  continue?: string;
}

export interface WatchOptions {
  namespace?: string;
  /** Deliver every change after this revision first (throws Expired when it was compacted away). Omitted: only new changes. */
  sinceResourceVersion?: string;
  /**
   * Called once if the store ends the watch on its own (etcd: its history was compacted while the watch reconnected); the
   * watch delivers nothing more, and the caller re-lists and watches again. A store that never ends a watch never calls it.
   */
  onEnded?: (error: unknown) => void;
}

export interface WatchHandle {
  stop(): void;
}

/**
 * Every write gets a new, strictly increasing store-wide resourceVersion (a decimal string, like an etcd revision).
 * Objects returned are copies: callers may change them freely.
 * Errors thrown are those of src/resources/errors.ts (NotFound, AlreadyExists, Conflict, Expired).
 */
export interface ResourceStore {
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  list(kind: string, options?: ListOptions): Promise<ListResult>;
  /** Assigns uid, creationTimestamp, generation 1 and resourceVersion. */
  create(object: KubeObject): Promise<KubeObject>;
  update(object: KubeObject): Promise<KubeObject>;
  delete(ref: ObjectRef, resourceVersion?: string): Promise<KubeObject>;
  /** All of the writes or none; returns the written objects in order (for delete: the object as it was). */
  commit(ops: WriteOp[]): Promise<KubeObject[]>;
  /** Listener calls are in resourceVersion order, per kind. */
  watch(kind: string, options: WatchOptions, listener: (event: WatchEvent) => void): WatchHandle;
  currentResourceVersion(): Promise<string>;
  close(): Promise<void>;
}
