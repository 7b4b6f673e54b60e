// `harrow clone SOURCE TARGET`: a VirtualMachineClone (KubeVirt's clone API); prints the clone's MACs, never the source's.
import type { VirtualMachine } from '../resources/types.ts';
import type { VirtualMachineClone } from '../resources/virtualmachineclone.ts';
import { parseDuration } from './args.ts';
import { DEFAULT_TIMEOUT } from './command.ts';
import { CliError, UsageError } from './errors.ts';
import { waitRunning } from './power.ts';
import { pollUntil } from './wait.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

/** `--mac IFACE=MAC` flags → newMacAddresses; the MACs themselves are checked by the server (field-named errors). */
function parseMacFlags(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    const iface = v.slice(0, i).trim();
    const mac = v.slice(i + 1).trim();
    if (i <= 0 || iface === '' || mac === '')
      throw new UsageError(
        `clone: --mac ${JSON.stringify(v)}: expected IFACE=MAC, e.g. --mac default=02:48:52:00:00:10`,
        'clone',
      );
    if (Object.hasOwn(out, iface))
      throw new UsageError(`clone: --mac gives interface ${iface} twice`, 'clone');
    out[iface] = mac;
  }
  return out;
}

function cloneManifest(
  namespace: string,
  source: string,
  target: string,
  newMacAddresses: Record<string, string>,
): VirtualMachineClone {
  return {
    apiVersion: 'clone.kubevirt.io/v1beta1',
    kind: 'VirtualMachineClone',
    // A clone object per attempt: an earlier, failed clone to the same target does not block a new one.
    metadata: { name: '', generateName: `${target.slice(0, 50)}-clone-`, namespace },
    spec: {
      source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: source },
      target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: target },
      ...(Object.keys(newMacAddresses).length > 0 ? { newMacAddresses } : {}),
    },
  };
}

export async function runClone(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [source, target] = args.positionals as [string, string];
  const macs = parseMacFlags((args.values.mac as string[] | undefined) ?? []);
  const timeoutMs = parseDuration(
    (args.values.timeout as string | undefined) ?? DEFAULT_TIMEOUT,
    '--timeout',
  );
  const namespace = ctx.namespace();
  const client = ctx.client();
  const out = ctx.io.stdout;
  const created = await client.create<VirtualMachineClone>(
    'VirtualMachineClone',
    { namespace },
    cloneManifest(namespace, source, target, macs),
  );
  const name = created.metadata.name;
  out.write(`virtualmachineclone.clone.kubevirt.io/${name} created\n`);
  const done = await pollUntil(ctx.io, { label: `clone ${name}`, timeoutMs }, async () => {
    const c = await client.get<VirtualMachineClone>('VirtualMachineClone', { namespace, name });
    const phase = c.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return { done: true, value: c };
    const why = c.status?.conditions?.find((x) => x.type === 'Progressing')?.message;
    return { done: false, status: why ?? (phase || 'pending') };
  });
  if (done.status?.phase === 'Failed') {
    const ready = done.status.conditions?.find((x) => x.type === 'Ready');
    throw new CliError(
      `clone ${name} failed: ${ready?.message ?? ready?.reason ?? 'no reason given'}`,
    );
  }
  const vm = await client.get<VirtualMachine>('VirtualMachine', {
    namespace,
    name: done.status?.targetName ?? target,
  });
  out.write(`virtualmachine.kubevirt.io/${vm.metadata.name} created from ${source}\n`);
  for (const i of vm.spec.template.spec.domain.devices.interfaces ?? []) {
    const how =
      macs[i.name] !== undefined
        ? 'given'
        : i.macAddress
          ? 'from the pool'
          : 'assigned when it starts';
    out.write(`  ${i.name}: ${i.macAddress ?? '-'} (${how})\n`);
  }
  const strategy = vm.spec.runStrategy ?? (vm.spec.running ? 'Always' : 'Halted');
  if (strategy === 'Halted' || strategy === 'Manual') {
    out.write(
      `${vm.metadata.name} is not started (runStrategy ${strategy}, as ${source}'s): harrow start ${vm.metadata.name}${ctx.namespaceFlag(namespace)}\n`,
    );
    return 0;
  }
  if (args.values.wait !== true) return 0;
  await waitRunning(ctx.io, client, namespace, vm.metadata.name, timeoutMs);
  out.write(`virtualmachine.kubevirt.io/${vm.metadata.name} running\n`);
  return 0;
}
