// `harrow logs vm NAME --console`: the guest's serial log, read as KubeVirt keeps it (the launcher pod's
// guest-console-log container, `kubectl logs POD -c guest-console-log`).
import type { VirtualMachineInstance } from '../resources/types.ts';
import { CONTAINER_GUEST_CONSOLE_LOG, LABEL_CREATED_BY } from '../resources/types.ts';
import { CliError, UsageError } from './errors.ts';
import { kindOfWord } from './kind-words.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

export async function runLogs(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [word, name, extra] = args.positionals;
  if (word === undefined || name === undefined)
    throw new UsageError('logs: expected `logs vm NAME --console`', 'logs');
  if (extra !== undefined)
    throw new UsageError(`logs: unexpected argument ${JSON.stringify(extra)}`, 'logs');
  const kind = kindOfWord(word, 'logs').kind;
  if (kind !== 'VirtualMachine' && kind !== 'VirtualMachineInstance')
    throw new UsageError(`logs: only vm and vmi have logs, not ${word}`, 'logs');
  if (args.values.console !== true)
    throw new UsageError(
      'logs: Harrow keeps one log per VM, its serial console: add --console',
      'logs',
    );
  const tail = args.values.tail as string | undefined;
  if (tail !== undefined && !/^\d+$/.test(tail))
    throw new UsageError(`logs: --tail ${tail}: must be a whole number of lines`, 'logs');
  const namespace = ctx.namespace();
  const client = ctx.client();
  // A VM's instance carries the VM's name, as in KubeVirt.
  const vmi = await client.get<VirtualMachineInstance>('VirtualMachineInstance', {
    namespace,
    name,
  });
  const uid = vmi.metadata.uid ?? '';
  const pods = await client.list('Pod', {
    namespace,
    labelSelector: `${LABEL_CREATED_BY}=${uid}`,
  });
  const pod = pods.items[0];
  if (!pod)
    throw new CliError(`logs: the instance of ${name} has no launcher pod (yet): no serial log`);
  const text = await client.podLog(namespace, pod.metadata.name, {
    container: CONTAINER_GUEST_CONSOLE_LOG,
    ...(tail !== undefined ? { tailLines: Number(tail) } : {}),
  });
  ctx.io.stdout.write(text);
  return 0;
}
