// `harrow drift`: every running VM whose guest uses a MAC other than the platform's; `drift restore|adopt VM` apply a remedy.
import type { HarrowClient } from '../client/client.ts';
import {
  LABEL_GUEST_MAC_MISMATCH,
  LABEL_VM_NAME,
  type Pod,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import type { ParsedCommandLine } from './args.ts';
import { launcherPods } from './launcher-pod.ts';
import { type CommandContext } from './context.ts';
import { mismatchesOf } from '../network/drift.ts';
import { interfaceViews } from '../network/interface-view.ts';
import { conditionOf } from '../resources/meta.ts';
import type { GuestMacRemedy } from '../resources/types.ts';
import { printData, printTable } from './output.ts';
import { nsFlag, remediesOf, remedyCommand } from './remedies.ts';
import { getOrUndefined, waitRunning } from './power.ts';
import { changeOptions, followMacChanges } from './set-mac.ts';

export interface DriftEntry {
  namespace: string;
  vm: string;
  interface: string;
  platformMac: string;
  /** undefined when only the GuestMACMismatch condition knows of the drift. */
  guestMac?: string;
  /** When the observer first saw the guest on this MAC. */
  since?: string;
  message?: string;
  /** The commands for the remedies the status offers (adopt is absent while another VM holds the guest's MAC). */
  remedies: { restore: string; adopt?: string };
}

/** One entry per drifted interface; a VMI whose condition reports drift that no interface shows still gets one. */
export function driftEntries(
  vms: VirtualMachine[],
  vmis: VirtualMachineInstance[],
  pods: Pod[],
): DriftEntry[] {
  const out: DriftEntry[] = [];
  // Indexed once, so that matching every VMI to its VM and pod is linear, not a scan of both lists per VMI.
  const vmByKey = new Map<string, VirtualMachine>();
  for (const v of vms) {
    const key = `${v.metadata.namespace ?? 'default'}/${v.metadata.name}`;
    if (!vmByKey.has(key)) vmByKey.set(key, v);
  }
  const launcherPodOf = launcherPods(pods);
  for (const vmi of vmis) {
    const ns = vmi.metadata.namespace ?? 'default';
    const vm = vmByKey.get(`${ns}/${vmi.metadata.name}`);
    const views = interfaceViews(vm, vmi, launcherPodOf(vmi));
    const condition = conditionOf(vmi.status?.conditions, 'GuestMACMismatch');
    const message = condition?.status === 'True' ? condition.message : undefined;
    const restore = `harrow drift restore ${vmi.metadata.name}${nsFlag(ns)}`;
    const drifted = views.filter((v) => v.mismatch);
    for (const v of drifted) {
      const command = (action: GuestMacRemedy['action']): string | undefined => {
        const r = remediesOf(v).find((x) => x.action === action);
        return r ? remedyCommand(r, vmi.metadata.name, v.name, ns) : undefined;
      };
      const adopt = command('adopt-guest-mac');
      out.push({
        namespace: ns,
        vm: vmi.metadata.name,
        interface: v.name,
        platformMac: v.platformMac ?? '-',
        guestMac: v.guestMac!,
        ...(v.guestMacMismatch ? { since: v.guestMacMismatch.since } : {}),
        ...(message !== undefined ? { message } : {}),
        remedies: { restore: command('restore-mac') ?? restore, ...(adopt ? { adopt } : {}) },
      });
    }
    if (drifted.length === 0 && condition?.status === 'True') {
      out.push({
        namespace: ns,
        vm: vmi.metadata.name,
        interface: '-',
        platformMac:
          views
            .map((v) => v.platformMac)
            .filter(Boolean)
            .join(',') || '-',
        ...(message !== undefined ? { message } : {}),
        remedies: { restore },
      });
    }
  }
  return out.sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      a.vm.localeCompare(b.vm) ||
      a.interface.localeCompare(b.interface),
  );
}

/** Requests in flight while reading the drifted VMIs' VMs and pods. */
const READS_IN_FLIGHT = 16;
/** VM names per `vm.kubevirt.io/name in (…)` pod selector: a request line stays a few KiB. */
const NAMES_PER_SELECTOR = 50;

async function eachLimited<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(READS_IN_FLIGHT, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/**
 * The drift of `scope` (a namespace, or all): the VMIs the observer labels as drifted (one selected list, answered
 * without reading the others), then each one's VM by name and its launcher pods by their `vm.kubevirt.io/name` label.
 * A VMI whose condition was written without the label (by a version before it) is labelled by the observer's next poll.
 */
export async function readDrift(
  client: HarrowClient,
  scope: { namespace?: string },
): Promise<DriftEntry[]> {
  const vmis = await client.listAll<VirtualMachineInstance>('VirtualMachineInstance', {
    ...scope,
    labelSelector: `${LABEL_GUEST_MAC_MISMATCH}=true`,
  });
  const namesByNamespace = new Map<string, string[]>();
  for (const vmi of vmis) {
    const ns = vmi.metadata.namespace ?? 'default';
    namesByNamespace.set(ns, [...(namesByNamespace.get(ns) ?? []), vmi.metadata.name]);
  }
  const podSelections: Array<{ namespace: string; labelSelector: string }> = [];
  for (const [namespace, names] of namesByNamespace)
    for (let i = 0; i < names.length; i += NAMES_PER_SELECTOR)
      podSelections.push({
        namespace,
        labelSelector: `${LABEL_VM_NAME} in (${names.slice(i, i + NAMES_PER_SELECTOR).join(',')})`,
      });
  const vms: VirtualMachine[] = [];
  const pods: Pod[] = [];
  await Promise.all([
    eachLimited(vmis, async (vmi) => {
      const vm = await getOrUndefined(
        client.get<VirtualMachine>('VirtualMachine', {
          namespace: vmi.metadata.namespace ?? 'default',
          name: vmi.metadata.name,
        }),
      );
      if (vm) vms.push(vm);
    }),
    eachLimited(podSelections, async (selection) => {
      pods.push(...(await client.listAll<Pod>('Pod', selection)));
    }),
  ]);
  return driftEntries(vms, vmis, pods);
}

async function listDrift(ctx: CommandContext): Promise<number> {
  const scope = ctx.globals.allNamespaces ? {} : { namespace: ctx.namespace() };
  const entries = await readDrift(ctx.client(), scope);
  if (ctx.globals.output !== 'table') {
    printData(ctx.io, ctx.globals.output, entries);
    return 0;
  }
  if (entries.length === 0) {
    ctx.io.stdout.write(
      `No guest MAC drift${ctx.globals.allNamespaces ? '' : ` in namespace ${scope.namespace}`}.\n`,
    );
    return 0;
  }
  const all = ctx.globals.allNamespaces;
  printTable(ctx.io, {
    headers: [...(all ? ['NAMESPACE'] : []), 'VM', 'INTERFACE', 'PLATFORM MAC', 'GUEST MAC'],
    rows: entries.map((e) => [
      ...(all ? [e.namespace] : []),
      e.vm,
      e.interface,
      e.platformMac,
      e.guestMac ?? '?',
    ]),
  });
  ctx.io.stdout.write(
    "\nThe spoof check drops a drifted interface's frames, and a restart reverts the guest's change. Remedies:\n",
  );
  for (const e of entries) {
    ctx.io.stdout.write(`  ${e.vm}${e.interface === '-' ? '' : `/${e.interface}`}:\n`);
    ctx.io.stdout.write(
      `    ${e.remedies.restore}    # restart: the guest gets the platform MAC ${e.platformMac} again\n`,
    );
    if (e.remedies.adopt)
      ctx.io.stdout.write(
        `    ${e.remedies.adopt}    # make ${e.guestMac} the manifest MAC, then restart\n`,
      );
  }
  return 0;
}

/** `drift restore VM`: the restore-mac subresource restarts the VM, so the new instance's guest starts with the platform MACs. */
async function restore(
  ctx: CommandContext,
  name: string,
  args: ParsedCommandLine,
): Promise<number> {
  const namespace = ctx.namespace();
  const vmi = await getOrUndefined(
    ctx.client().get<VirtualMachineInstance>('VirtualMachineInstance', { namespace, name }),
  );
  // What is drifted, read only to tell the user: the server decides and acts (and refuses a VM that is not running).
  const drifted = mismatchesOf(vmi?.status?.interfaces);
  await ctx.client().restoreMac(namespace, name);
  for (const d of drifted)
    ctx.io.stdout.write(
      `${name}/${d.interface}: restoring ${d.record.platformMac} (the guest uses ${d.record.guestMac})\n`,
    );
  if (drifted.length === 0)
    ctx.io.stdout.write(`${name}: no interface shows drift; restarting anyway, as asked\n`);
  ctx.io.stdout.write(`virtualmachine.kubevirt.io/${name} restarting\n`);
  const o = changeOptions(args.values, 'drift restore');
  if (!o.wait) return 0;
  await waitRunning(ctx.io, ctx.client(), namespace, name, o.timeoutMs, vmi?.metadata.uid);
  ctx.io.stdout.write(`virtualmachine.kubevirt.io/${name} running with the platform MACs\n`);
  return 0;
}

/**
 * `drift adopt VM [IFACE…]`: the adopt-guest-mac subresource puts the guest's MACs into the manifest (the server validates
 * and reserves them like any MAC); then, as set-mac, the restart and the connectivity check.
 */
async function adopt(
  ctx: CommandContext,
  name: string,
  ifaces: string[],
  args: ParsedCommandLine,
): Promise<number> {
  const namespace = ctx.namespace();
  const o = changeOptions(args.values, 'drift adopt');
  const client = ctx.client();
  const before = await client.get<VirtualMachine>('VirtualMachine', { namespace, name });
  const updated = await client.adoptGuestMac<VirtualMachine>(namespace, name, {
    interfaces: ifaces,
    dryRun: o.dryRun,
  });
  const macs = (vm: VirtualMachine): Map<string, string | undefined> =>
    new Map(
      (vm.spec?.template?.spec?.domain?.devices?.interfaces ?? []).map((i) => [
        i.name,
        i.macAddress,
      ]),
    );
  const old = macs(before);
  const changes = [...macs(updated)]
    .filter(([iface, mac]) => mac !== undefined && mac !== old.get(iface))
    .map(([iface, mac]) => ({ iface, mac: mac! }));
  for (const c of changes) {
    ctx.io.stdout.write(
      `virtualmachine.kubevirt.io/${name} interface ${c.iface}: macAddress ${old.get(c.iface) ?? '(none)'} → ${c.mac} (the guest's)${o.dryRun ? ' (server dry run: nothing changed)' : ''}\n`,
    );
  }
  if (o.dryRun) return 0;
  return followMacChanges(ctx, namespace, name, updated, changes, o);
}

export async function runDrift(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [sub, name, ...ifaces] = args.positionals;
  if (sub === undefined) return listDrift(ctx);
  if (sub === 'restore') return restore(ctx, name!, args);
  return adopt(ctx, name!, ifaces, args);
}
