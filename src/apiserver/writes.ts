// The write path every mutating request takes: admission, then one atomic commit of the object, the plugins' ops and the audit record.
import { randomUUID } from 'node:crypto';
import { isLostMacRace } from '../allocation/service.ts';
import { isLostFixedAddressRace } from '../allocation/fixed-addresses.ts';
import { auditRecord } from '../audit/record.ts';
import { Conflict, HarrowError, NotFound, type Invalid } from '../resources/errors.ts';
import type { KindInfo } from '../resources/kinds.ts';
import type { KubeObject, ObjectRef } from '../resources/meta.ts';
import type { ResourceStore, WriteOp } from '../store/types.ts';
import type {
  AdmissionPlugin,
  AdmissionRequest,
  AdmissionResult,
  UserInfo,
} from './admission/types.ts';
import { diffObjects, type FieldChange } from './changes.ts';
import { deepEqual } from './patch.ts';

export interface WriteDeps {
  store: ResourceStore;
  admission: AdmissionPlugin[];
}

export interface WriteRequest {
  info: KindInfo;
  operation: 'create' | 'update' | 'delete';
  /** The new object (create, update). */
  object?: KubeObject;
  /** The stored object (update, delete). */
  oldObject?: KubeObject;
  user: UserInfo;
  dryRun: boolean;
  /** The audit record's verb: create, update, patch, delete, update-status, start, … */
  verb: string;
  subresource?: string;
  /** The HTTP code the request answers with on success (recorded as the outcome). */
  code: number;
  /** Delete precondition. */
  resourceVersion?: string;
  /** The kind's schema refused the object (body-schemas.ts): answered once admission, whose own words come first, passed it. */
  refusal?: Invalid;
}

export interface WriteResult {
  object: KubeObject;
  warnings: string[];
  /** False when the update changed nothing (no write, no audit record). */
  written: boolean;
}

interface Admitted {
  ops: WriteOp[];
  warnings: string[];
  changes: FieldChange[];
  rollback(): void;
  committed(): void;
}

export async function admit(
  plugins: AdmissionPlugin[],
  request: AdmissionRequest,
): Promise<Admitted> {
  const results: AdmissionResult[] = [];
  const rollback = (): void => {
    for (const r of [...results].reverse()) r.rollback?.();
  };
  try {
    for (const plugin of plugins) {
      if (!plugin.kinds.includes(request.kind) && !plugin.kinds.includes('*')) continue;
      const result = await plugin.admit(request);
      if (result) results.push(result);
    }
  } catch (e) {
    rollback();
    throw e;
  }
  return {
    ops: results.flatMap((r) => r.ops ?? []),
    warnings: results.flatMap((r) => r.warnings ?? []),
    changes: results.flatMap((r) => r.changes ?? []),
    rollback,
    committed: () => {
      for (const r of results) r.committed?.();
    },
  };
}

const refOfObject = (info: KindInfo, o: KubeObject): ObjectRef =>
  info.namespaced
    ? { kind: info.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name }
    : { kind: info.kind, name: o.metadata.name };

function withoutResourceVersion(o: KubeObject): KubeObject {
  return { ...o, metadata: { ...o.metadata, resourceVersion: undefined } };
}

/** What a dry run answers: the object as it would be stored (a fresh uid for a create, as Kubernetes does). */
function dryRunObject(request: WriteRequest): KubeObject {
  const o = structuredClone(request.operation === 'delete' ? request.oldObject! : request.object!);
  if (request.operation === 'create') {
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    o.metadata.generation = 1;
    delete o.metadata.resourceVersion;
  } else if (request.operation === 'update' && request.oldObject) {
    o.metadata.resourceVersion = request.oldObject.metadata.resourceVersion;
    const bump = !deepEqual(o.spec, request.oldObject.spec) ? 1 : 0;
    o.metadata.generation = (request.oldObject.metadata.generation ?? 1) + bump;
  }
  return o;
}

/** A commit that lost a race for a MAC goes through admission again this many times. */
const MAC_RACE_ATTEMPTS = 5;

/**
 * Admission then one atomic commit. With several replicas, two may pick the same free MAC at once; the store's
 * create-if-absent of the MacAllocation (named after the MAC) lets one win. The loser is admitted again from its
 * original object: a pool-chosen MAC is then chosen anew, a MAC the client asked for now names its holder (Conflict).
 * Likewise when pool-gc deleted, between plan and commit, the ended quarantine the plan updates: the next plan creates.
 */
export async function admitAndCommit(deps: WriteDeps, request: WriteRequest): Promise<WriteResult> {
  const original = request.object ? structuredClone(request.object) : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await admitAndCommitOnce(
        deps,
        attempt === 1 || !original ? request : { ...request, object: structuredClone(original) },
      );
    } catch (e) {
      const lost = isLostMacRace(e) || isLostFixedAddressRace(e);
      if (!lost || attempt >= MAC_RACE_ATTEMPTS) throw lost ? macRaceConflict(request, e) : e;
    }
  }
}

function macRaceConflict(request: WriteRequest, e: HarrowError): Conflict {
  const name = (request.object ?? request.oldObject)?.metadata.name ?? '';
  return new Conflict(
    `Operation cannot be fulfilled on ${qualifiedResource(request.info)} "${name}": a MAC address it needs was taken by a concurrent write (${e.message}); please try again`,
    { name, group: request.info.group, kind: request.info.plural },
  );
}

async function admitAndCommitOnce(deps: WriteDeps, request: WriteRequest): Promise<WriteResult> {
  const { info, operation, user, dryRun } = request;
  const admitted = await admit(deps.admission, {
    operation,
    kind: info.kind,
    ...(request.object ? { object: request.object } : {}),
    ...(request.oldObject ? { oldObject: request.oldObject } : {}),
    user,
    dryRun,
    ...(request.subresource ? { subresource: request.subresource } : {}),
  });
  if (request.refusal) {
    admitted.rollback();
    throw request.refusal;
  }
  if (dryRun) {
    admitted.rollback();
    return { object: dryRunObject(request), warnings: admitted.warnings, written: false };
  }
  const target = request.object ?? request.oldObject!;
  if (
    operation === 'update' &&
    admitted.ops.length === 0 &&
    request.oldObject &&
    deepEqual(withoutResourceVersion(request.object!), withoutResourceVersion(request.oldObject))
  ) {
    // Kubernetes answers a no-op update with the stored object and writes nothing (no new resourceVersion, no watch event).
    admitted.rollback();
    return { object: request.oldObject, warnings: admitted.warnings, written: false };
  }
  const changes =
    admitted.changes.length > 0
      ? admitted.changes
      : operation === 'update'
        ? diffObjects(request.oldObject, request.object)
        : [];
  // Not audited: an AuditRecord itself (it is the record), and a Node's status (each agent heartbeat would add one).
  const audited = !(
    info.kind === 'AuditRecord' ||
    (info.kind === 'Node' && request.verb.endsWith('status'))
  );
  const audit = auditRecord({
    user: user.name,
    verb: request.verb,
    resource: {
      kind: info.kind,
      ...(info.namespaced ? { namespace: target.metadata.namespace ?? '' } : {}),
      name: target.metadata.name,
    },
    changes,
    outcome: { code: request.code },
  });
  const main: WriteOp =
    operation === 'create'
      ? { type: 'create', object: request.object! }
      : operation === 'update'
        ? { type: 'update', object: request.object! }
        : {
            type: 'delete',
            ref: refOfObject(info, request.oldObject!),
            ...(request.resourceVersion !== undefined
              ? { resourceVersion: request.resourceVersion }
              : {}),
          };
  let written: KubeObject[];
  try {
    written = await deps.store.commit([
      main,
      ...admitted.ops,
      ...(audited ? [{ type: 'create' as const, object: audit }] : []),
    ]);
  } catch (e) {
    admitted.rollback();
    throw e;
  }
  admitted.committed();
  return { object: written[0]!, warnings: admitted.warnings, written: true };
}

/** Kubernetes' wording for a stored object that is not there. */
export function notFound(info: KindInfo, name: string): NotFound {
  return new NotFound(`${qualifiedResource(info)} "${name}" not found`, {
    name,
    group: info.group,
    kind: info.plural,
  });
}

export function modifiedConflict(info: KindInfo, name: string): Conflict {
  return new Conflict(
    `Operation cannot be fulfilled on ${qualifiedResource(info)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: info.group, kind: info.plural },
  );
}

/** `virtualmachines.kubevirt.io`, or `pods` for the core group. */
export const qualifiedResource = (info: KindInfo): string =>
  info.group === '' ? info.plural : `${info.plural}.${info.group}`;
