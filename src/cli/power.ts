// `harrow start|stop|restart VM [--wait]`: KubeVirt's state-change subresources, optionally waiting for the outcome.
import { ApiError } from '../client/errors.ts';
import type { HarrowClient } from '../client/client.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../resources/types.ts';
import { parseDuration } from './args.ts';
import { DEFAULT_TIMEOUT, type CommandRun } from './command.ts';
import { type CliIO } from './context.ts';
import { UsageError } from './errors.ts';
import { conditionOf } from '../resources/meta.ts';
import { pollUntil } from './wait.ts';
import { restartInWindow } from './window.ts';

type Action = 'start' | 'stop' | 'restart';

export async function getOrUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return undefined;
    throw e;
  }
}

const vmStatus = (vm: VirtualMachine | undefined): string =>
  vm?.status?.printableStatus ?? 'Unknown';

/**
 * Waits until the VM runs and its guest is usable: printableStatus Running, a Running VMI — a new one (other uid) when
 * `notUid` is given, as after a restart — whose guest agent answers (AgentConnected), so that exec works right after.
 */
export async function waitRunning(
  io: CliIO,
  client: HarrowClient,
  namespace: string,
  name: string,
  timeoutMs: number,
  notUid?: string,
): Promise<VirtualMachineInstance> {
  return pollUntil(io, { label: name, timeoutMs }, async () => {
    const [vm, vmi] = await Promise.all([
      getOrUndefined(client.get<VirtualMachine>('VirtualMachine', { namespace, name })),
      getOrUndefined(
        client.get<VirtualMachineInstance>('VirtualMachineInstance', { namespace, name }),
      ),
    ]);
    if (vm === undefined)
      throw new ApiError({
        apiVersion: 'v1',
        kind: 'Status',
        status: 'Failure',
        code: 404,
        reason: 'NotFound',
        message: `virtualmachine "${name}" not found (deleted while waiting)`,
      });
    const fresh = vmi !== undefined && (notUid === undefined || vmi.metadata.uid !== notUid);
    if (fresh && vmi.status?.phase === 'Running' && vmStatus(vm) === 'Running') {
      if (conditionOf(vmi.status.conditions, 'AgentConnected')?.status === 'True')
        return { done: true, value: vmi };
      return { done: false, status: 'Running, waiting for the guest agent' };
    }
    return { done: false, status: fresh || vmi === undefined ? vmStatus(vm) : 'Stopping' };
  });
}

/** Waits until the VM is Stopped and its VMI is gone. */
export async function waitStopped(
  io: CliIO,
  client: HarrowClient,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<void> {
  await pollUntil(io, { label: name, timeoutMs }, async () => {
    const [vm, vmi] = await Promise.all([
      getOrUndefined(client.get<VirtualMachine>('VirtualMachine', { namespace, name })),
      getOrUndefined(
        client.get<VirtualMachineInstance>('VirtualMachineInstance', { namespace, name }),
      ),
    ]);
    if (vm === undefined) return { done: true, value: undefined };
    if (vmi === undefined && vmStatus(vm) === 'Stopped') return { done: true, value: undefined };
    return { done: false, status: vmStatus(vm) };
  });
}

/** What `harrow start|stop|restart VM` runs. */
export function powerRun(action: Action): CommandRun {
  return async (ctx, args) => {
    const [name] = args.positionals;
    const inWindow = args.values['in-window'] === true;
    const cancel = args.values.cancel === true;
    if (inWindow || cancel) {
      if (inWindow && cancel)
        throw new UsageError('restart: give --in-window or --cancel, not both', action);
      if (args.values.wait === true)
        throw new UsageError(
          `restart: --wait does not go with ${inWindow ? '--in-window (the restart happens when the window opens)' : '--cancel'}`,
          action,
        );
      return restartInWindow(ctx, name!, cancel);
    }
    const timeoutMs = parseDuration(
      (args.values.timeout as string | undefined) ?? DEFAULT_TIMEOUT,
      '--timeout',
    );
    const client = ctx.client();
    const namespace = ctx.namespace();
    const before =
      action === 'restart'
        ? await getOrUndefined(
            client.get<VirtualMachineInstance>('VirtualMachineInstance', {
              namespace,
              name: name!,
            }),
          )
        : undefined;
    await client[action](namespace, name!);
    const past = { start: 'starting', stop: 'stopping', restart: 'restarting' }[action];
    ctx.io.stdout.write(`virtualmachine.kubevirt.io/${name} ${past}\n`);
    if (args.values.wait !== true) return 0;
    if (action === 'stop') {
      await waitStopped(ctx.io, client, namespace, name!, timeoutMs);
      ctx.io.stdout.write(`virtualmachine.kubevirt.io/${name} stopped\n`);
    } else {
      await waitRunning(ctx.io, client, namespace, name!, timeoutMs, before?.metadata.uid);
      ctx.io.stdout.write(`virtualmachine.kubevirt.io/${name} running\n`);
    }
    return 0;
  };
}
