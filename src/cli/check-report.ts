// The one JSON/YAML shape of a check's verdict (fsck, audit verify): ok, and each problem's kind, the object it is about
// and a message, so a script reads both the same way.

export interface CheckProblem {
  /** What is wrong, as a stable word (missing-allocation, altered, …). */
  kind: string;
  /** The object the problem is found at (namespace/name, or name for a cluster-scoped one), when there is one. */
  name?: string;
  message: string;
  [detail: string]: unknown;
}

export interface CheckReport {
  /** Which check: `fsck` or `audit-chain`. */
  check: string;
  ok: boolean;
  problems: CheckProblem[];
  [detail: string]: unknown;
}

/** `namespace/name`, or the name alone for a cluster-scoped object. */
export const objectName = (ref: { namespace?: string; name: string }): string =>
  ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
