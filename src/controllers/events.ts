// Kubernetes Events for lifecycle actions, aggregated per object, reason and message (count and lastTimestamp).
import { createHash } from 'node:crypto';
import { AlreadyExists, Conflict, NotFound } from '../resources/errors.ts';
import type { KubeObject } from '../resources/meta.ts';
import type { KubeEvent } from '../resources/types.ts';
import type { ResourceStore } from '../store/types.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventOptions {
  component?: string;
  host?: string;
  now?: Date;
}

// Kubernetes caps an event message at 1 KiB.
const MAX_MESSAGE = 1024;

/** The name that aggregates repeats: `<object>.<hash of kind, reason and message>`. */
export function eventName(involved: KubeObject, reason: string, message: string): string {
  const hash = createHash('sha256')
    .update(`${involved.kind}\n${reason}\n${message}`)
    .digest('hex')
    .slice(0, 16);
  return `${involved.metadata.name}.${hash}`;
}

/** Records an Event on `involved`; a repeat of the same reason and message bumps count and lastTimestamp. */
export async function recordEvent(
  store: ResourceStore,
  involved: KubeObject,
  type: EventType,
  reason: string,
  message: string,
  options: EventOptions = {},
): Promise<KubeEvent> {
  const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
  const name = eventName(involved, reason, text);
  const namespace = involved.metadata.namespace ?? 'default';
  const involvedObject = {
    kind: involved.kind,
    name: involved.metadata.name,
    apiVersion: involved.apiVersion,
    ...(involved.metadata.namespace !== undefined
      ? { namespace: involved.metadata.namespace }
      : {}),
    ...(involved.metadata.uid !== undefined ? { uid: involved.metadata.uid } : {}),
  };
  const source = {
    component: options.component ?? 'harrow-controller',
    ...(options.host ? { host: options.host } : {}),
  };
  // Most events are new: try to create first, and count on top of the stored one when it exists.
  let exists = false;
  for (let attempt = 0; ; attempt++) {
    const now = (options.now ?? new Date()).toISOString();
    try {
      if (exists) {
        const existing = (await store.get({ kind: 'Event', namespace, name })) as
          KubeEvent | undefined;
        if (existing) {
          existing.count = (existing.count ?? 1) + 1;
          existing.lastTimestamp = now;
          existing.involvedObject = involvedObject;
          return (await store.update(existing)) as KubeEvent;
        }
      }
      const event: KubeEvent = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject,
        reason,
        message: text,
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source,
      };
      return (await store.create(event)) as KubeEvent;
    } catch (e) {
      // Another writer recorded the same event at the same moment: read it again and count on top of it.
      const raced = e instanceof Conflict || e instanceof AlreadyExists || e instanceof NotFound;
      if (!raced || attempt >= 5) throw e;
      exists = e instanceof AlreadyExists || e instanceof Conflict;
    }
  }
}

export type EventRecorder = (
  involved: KubeObject,
  type: EventType,
  reason: string,
  message: string,
) => Promise<void>;

/** A recorder for controllers: an Event that cannot be written is logged, never fails the reconcile that acted. */
export function eventRecorder(
  store: ResourceStore,
  logger: { warn(obj: object, msg: string): void },
  options: EventOptions = {},
): EventRecorder {
  return async (involved, type, reason, message) => {
    try {
      await recordEvent(store, involved, type, reason, message, options);
    } catch (e) {
      logger.warn(
        { err: e instanceof Error ? e.message : String(e), reason, object: involved.metadata.name },
        'event not recorded',
      );
    }
  };
}
