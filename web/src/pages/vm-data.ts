// The live data behind the VM pages (VMs, their instances and launcher pods in a namespace) and the lifecycle actions.
import { useCallback, useState } from 'react';
import type { Pod, VirtualMachine, VirtualMachineInstance } from '../../../src/resources/types.ts';
import { ApiError } from '../api/client.ts';
import { paths } from '../api/paths.ts';
import { useLiveList, type LiveList } from '../api/use-watch.ts';
import type { Action } from '../model/vm.ts';
import { useSession } from '../session.ts';

export interface VmData {
  vms: LiveList<VirtualMachine>;
  vmis: LiveList<VirtualMachineInstance>;
  pods: LiveList<Pod>;
}

const isLauncher = (p: Pod): boolean => p.metadata.labels?.['vm.kubevirt.io/name'] !== undefined;

export function useVmData(namespace: string): VmData {
  const { api } = useSession();
  return {
    vms: useLiveList<VirtualMachine>(api, paths.vms(namespace)),
    vmis: useLiveList<VirtualMachineInstance>(api, paths.vmis(namespace)),
    pods: useLiveList<Pod>(api, paths.pods(namespace), isLauncher),
  };
}

export type VmOp = Action | 'delete';

export const VERB: Record<VmOp, string> = {
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  delete: 'Delete',
};
/** How many requests a bulk action keeps in flight at once. */
const BULK_PARALLEL = 6;

/**
 * Runs start/stop/restart/delete on VMs, announcing the outcome. `busy` holds the names with a request in flight, so
 * only those rows wait; `runMany` runs one action on many VMs and announces one summary.
 */
export function useVmAction(namespace: string): {
  run(name: string, op: VmOp): Promise<boolean>;
  runMany(names: readonly string[], op: VmOp): Promise<void>;
  busy: ReadonlySet<string>;
} {
  const { api, notify } = useSession();
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const mark = useCallback((name: string, on: boolean) => {
    setBusy((b) => {
      const next = new Set(b);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  }, []);
  const send = useCallback(
    async (name: string, op: VmOp): Promise<string | undefined> => {
      mark(name, true);
      try {
        if (op === 'delete') await api.delete(paths.vm(namespace, name));
        else await api.put(paths.vmAction(namespace, name, op));
        return undefined;
      } catch (e) {
        return e instanceof ApiError ? e.message : String(e);
      } finally {
        mark(name, false);
      }
    },
    [api, namespace, mark],
  );
  const run = useCallback(
    async (name: string, op: VmOp): Promise<boolean> => {
      const error = await send(name, op);
      if (error === undefined) notify(`${VERB[op]} requested for ${name}.`);
      else notify(`${VERB[op]} ${name} failed: ${error}`, 'error');
      return error === undefined;
    },
    [send, notify],
  );
  const runMany = useCallback(
    async (names: readonly string[], op: VmOp): Promise<void> => {
      const failed: string[] = [];
      const queue = [...names];
      const worker = async (): Promise<void> => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
          const error = await send(name, op);
          if (error !== undefined) failed.push(`${name}: ${error}`);
        }
      };
      await Promise.all(Array.from({ length: Math.min(BULK_PARALLEL, names.length) }, worker));
      const done = names.length - failed.length;
      if (failed.length === 0) notify(`${VERB[op]} requested for ${countOf(done)}.`);
      else
        notify(
          `${VERB[op]} requested for ${countOf(done)}; ${failed.length} failed — ${failed.slice(0, 3).join('; ')}${failed.length > 3 ? '; …' : ''}`,
          'error',
        );
    },
    [send, notify],
  );
  return { run, runMany, busy };
}

/** "1 virtual machine", "10 virtual machines". */
export const countOf = (n: number): string =>
  `${n.toLocaleString('en')} virtual machine${n === 1 ? '' : 's'}`;
