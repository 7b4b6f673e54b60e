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

const PAST: Record<Action, string> = { start: 'Start', stop: 'Stop', restart: 'Restart' };

/** Runs start/stop/restart on a VM, announcing the outcome; `busy` names the action in flight. */
export function useVmAction(namespace: string): {
  run(name: string, action: Action): Promise<boolean>;
  busy: string | undefined;
} {
  const { api, notify } = useSession();
  const [busy, setBusy] = useState<string>();
  const run = useCallback(
    async (name: string, action: Action): Promise<boolean> => {
      setBusy(`${name}/${action}`);
      try {
        await api.put(paths.vmAction(namespace, name, action));
        notify(`${PAST[action]} requested for ${name}.`);
        return true;
      } catch (e) {
        notify(
          `${PAST[action]} ${name} failed: ${e instanceof ApiError ? e.message : String(e)}`,
          'error',
        );
        return false;
      } finally {
        setBusy(undefined);
      }
    },
    [api, namespace, notify],
  );
  return { run, busy };
}
