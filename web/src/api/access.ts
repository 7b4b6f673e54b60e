// What the signed-in user may do, as the server decides it: a SelfSubjectAccessReview (`kubectl auth can-i`), asked
// once per question and session, so pages offer only the actions the API would allow.
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { ApiClient } from './client.ts';
import { paths } from './paths.ts';

export interface AccessQuestion {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
}

/** `undefined` until the server answers (or when it could not be asked): pages then neither offer nor hide for good. */
export type Access = boolean | undefined;

const answers = new WeakMap<ApiClient, Map<string, Promise<boolean>>>();

export function canI(api: ApiClient, q: AccessQuestion): Promise<boolean> {
  let byQuestion = answers.get(api);
  if (!byQuestion) {
    byQuestion = new Map();
    answers.set(api, byQuestion);
  }
  const key = `${q.verb} ${q.group}/${q.resource} ${q.namespace ?? ''}`;
  let answer = byQuestion.get(key);
  if (!answer) {
    answer = api
      .post<{ status?: { allowed?: boolean } }>(paths.accessReview(), {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { ...q } },
      })
      .then((r) => r.status?.allowed === true);
    const map = byQuestion;
    // A failed question (server out of reach) is asked again next time.
    answer.catch(() => map.delete(key));
    byQuestion.set(key, answer);
  }
  return answer;
}

const NO_MONITOR = { subscribe: () => () => undefined, snapshot: () => 'connected' as const };

export function useCanI(api: ApiClient, q: AccessQuestion): Access {
  const { verb, group, resource, namespace } = q;
  const key = `${verb} ${group}/${resource} ${namespace ?? ''}`;
  const [answer, setAnswer] = useState<{ api: ApiClient; key: string; allowed: boolean }>();
  // A question the server could not be asked (it was out of reach) is asked again when it is back.
  const monitor = api.connection;
  const connected =
    useSyncExternalStore(
      monitor?.subscribe ?? NO_MONITOR.subscribe,
      monitor ? () => monitor.snapshot().phase : NO_MONITOR.snapshot,
    ) === 'connected';
  useEffect(() => {
    if (!connected) return undefined;
    let current = true;
    canI(api, { verb, group, resource, ...(namespace !== undefined ? { namespace } : {}) }).then(
      (allowed) => current && setAnswer({ api, key, allowed }),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [api, key, verb, group, resource, namespace, connected]);
  // An answer to another question (or another session's) says nothing about this one.
  return answer?.api === api && answer.key === key ? answer.allowed : undefined;
}
