// `harrow set-mac VM IFACE MAC`: the proper MAC change — through the manifest, then restart, then the connectivity check.
import type { HarrowClient, JsonPatchOp } from '../client/client.ts';
import type { Condition } from '../resources/meta.ts';
import type {
  AuditRecord,
  ConnectivityResult,
  VirtualMachine,
  VirtualMachineInstance,
} from '../resources/types.ts';
import { parseDuration, type ParsedCommandLine } from './args.ts';
import { DEFAULT_TIMEOUT } from './command.ts';
import { type CliIO, type CommandContext } from './context.ts';
import { dryRunOf } from './dry-run.ts';
import { CliError } from './errors.ts';
import { interfaceViews } from '../network/interface-view.ts';
import { canonicalMac, sameMac } from '../network/mac-precedence.ts';
import { getOrUndefined } from './power.ts';
import { pollUntil } from './wait.ts';

const IFACES = '/spec/template/spec/domain/devices/interfaces';

/**
 * The JSON patch that sets one interface's MAC. Its `test` ops make it fail instead of overwriting when someone changed
 * the interface list or that MAC since we read the VM.
 */
export function setMacPatch(
  vm: VirtualMachine,
  ifaceName: string,
  mac: string,
): { index: number; old?: string; ops: JsonPatchOp[] } {
  const ifaces = vm.spec?.template?.spec?.domain?.devices?.interfaces ?? [];
  const index = ifaces.findIndex((i) => i.name === ifaceName);
  if (index < 0) {
    const names = ifaces.map((i) => i.name);
    throw new CliError(
      `virtualmachine ${vm.metadata.name} has no interface ${JSON.stringify(ifaceName)}${names.length > 0 ? ` (its interfaces: ${names.join(', ')})` : ' (it has none)'}`,
    );
  }
  const path = `${IFACES}/${index}`;
  const old = ifaces[index]!.macAddress;
  const ops: JsonPatchOp[] = [{ op: 'test', path: `${path}/name`, value: ifaceName }];
  if (old !== undefined) {
    ops.push(
      { op: 'test', path: `${path}/macAddress`, value: old },
      { op: 'replace', path: `${path}/macAddress`, value: mac },
    );
  } else {
    ops.push({ op: 'add', path: `${path}/macAddress`, value: mac });
  }
  return { index, ...(old !== undefined ? { old } : {}), ops };
}

export const changeOptions = (v: ParsedCommandLine['values'], command: string): ApplyOptions => ({
  restart: v.restart === true,
  wait: v.wait === true,
  dryRun: dryRunOf(v['dry-run'], command, ['none', 'server']) === 'server',
  timeoutMs: parseDuration((v.timeout as string | undefined) ?? DEFAULT_TIMEOUT, '--timeout'),
});

export type ConnectivityOutcome = { ok: boolean; message: string; source: 'audit' | 'condition' };

/**
 * How a connectivity check result reads for people: its message, plus lease and gateway where the message does not
 * give them. Decided from the result's fields, not by reading the message: the check writes the lease and gateway into
 * a passed check's message, and into a failed one's only the steps in `failed`.
 */
export function describeConnectivity(c: ConnectivityResult): string {
  const said = (step: 'lease' | 'gateway'): boolean => c.ok || (c.failed ?? []).includes(step);
  const parts: string[] = [];
  if (c.lease && !said('lease')) parts.push(`lease ${c.lease.ip} for ${c.lease.macAddress}`);
  else if (c.lease === null && !said('lease')) parts.push('no DHCP lease');
  if (c.gateway && !said('gateway'))
    parts.push(`gateway ${c.gateway.ip} ${c.gateway.reachable ? 'reachable' : 'unreachable'}`);
  return [c.message, ...(parts.length > 0 ? [`(${parts.join(', ')})`] : [])]
    .filter((s) => s !== '')
    .join(' ');
}

/**
 * The connectivity check Harrow ran for this interface and MAC after `since`: from the audit record that carries it,
 * else from the VM's ConnectivityCheck condition when that one is about this MAC or newer than `since`.
 */
export function findConnectivity(
  records: AuditRecord[],
  vm: VirtualMachine | undefined,
  iface: string,
  mac: string,
  since: Date,
): ConnectivityOutcome | undefined {
  const slackMs = 5000;
  const fromAudit = records
    .filter((r) => {
      const c = r.spec?.connectivity;
      return (
        c !== undefined &&
        c.interface === iface &&
        sameMac(c.macAddress, mac) &&
        Date.parse(r.spec.timestamp) >= since.getTime() - slackMs
      );
    })
    .sort((a, b) => a.spec.timestamp.localeCompare(b.spec.timestamp))
    .at(-1);
  if (fromAudit?.spec.connectivity) {
    const c = fromAudit.spec.connectivity;
    return { ok: c.ok, message: describeConnectivity(c), source: 'audit' };
  }
  const cond: Condition | undefined = vm?.status?.conditions?.find(
    (c) => c.type === 'ConnectivityCheck',
  );
  if (cond && cond.status !== 'Unknown') {
    const aboutMac = (cond.message ?? '').toLowerCase().includes(canonicalMac(mac)!);
    const recent =
      cond.lastTransitionTime !== undefined &&
      Date.parse(cond.lastTransitionTime) >= since.getTime() - slackMs;
    if (aboutMac || recent)
      return {
        ok: cond.status === 'True',
        message: cond.message ?? cond.reason ?? '',
        source: 'condition',
      };
  }
  return undefined;
}

async function waitForNewMacs(
  io: CliIO,
  client: HarrowClient,
  namespace: string,
  name: string,
  changes: MacChange[],
  deadline: number,
): Promise<void> {
  await pollUntil(io, { label: name, timeoutMs: Math.max(0, deadline - Date.now()) }, async () => {
    const [vm, vmi] = await Promise.all([
      client.get<VirtualMachine>('VirtualMachine', { namespace, name }),
      getOrUndefined(
        client.get<VirtualMachineInstance>('VirtualMachineInstance', { namespace, name }),
      ),
    ]);
    const status = vm.status?.printableStatus ?? 'Unknown';
    if (vmi === undefined || vmi.status?.phase !== 'Running') return { done: false, status };
    const views = interfaceViews(vm, vmi, undefined);
    const waiting = changes.filter(
      (c) => !sameMac(views.find((v) => v.name === c.iface)?.platformMac, c.mac),
    );
    if (waiting.length === 0) return { done: true, value: undefined };
    const first = views.find((v) => v.name === waiting[0]!.iface);
    return {
      done: false,
      status:
        status === 'Running'
          ? `Running with ${first?.platformMac ?? 'no MAC yet'}, waiting for a restart`
          : status,
    };
  });
}

export interface MacChange {
  iface: string;
  mac: string;
}

export interface ApplyOptions {
  restart: boolean;
  wait: boolean;
  dryRun: boolean;
  timeoutMs: number;
}

/**
 * The proper MAC change, shared by set-mac and drift adopt: one JSON patch for every interface, then (for a running VM)
 * the restart or the note that one is required, then optionally waiting for the new MACs and the connectivity check.
 */
export async function applyMacChanges(
  ctx: CommandContext,
  namespace: string,
  name: string,
  wanted: MacChange[],
  o: ApplyOptions,
): Promise<number> {
  const client = ctx.client();
  const out = ctx.io.stdout;
  const vm = await client.get<VirtualMachine>('VirtualMachine', { namespace, name });
  const plans = wanted.map((w) => ({ ...w, ...setMacPatch(vm, w.iface, w.mac) }));
  const todo = plans.filter((p) => !(p.old !== undefined && sameMac(p.old, p.mac)));
  for (const p of plans.filter((x) => !todo.includes(x))) {
    out.write(
      `virtualmachine.kubevirt.io/${name} interface ${p.iface} already has MAC ${canonicalMac(p.old)}\n`,
    );
  }
  let updated = vm;
  if (todo.length > 0) {
    updated = await client.jsonPatch<VirtualMachine>(
      'VirtualMachine',
      { namespace, name },
      todo.flatMap((p) => p.ops),
      { dryRun: o.dryRun },
    );
  }
  const ifaces = updated.spec?.template?.spec?.domain?.devices?.interfaces ?? [];
  const changes: MacChange[] = plans.map((p) => ({
    iface: p.iface,
    mac: canonicalMac(ifaces.find((i) => i.name === p.iface)?.macAddress ?? p.mac)!,
  }));
  for (const p of todo) {
    const mac = changes.find((c) => c.iface === p.iface)!.mac;
    out.write(
      `virtualmachine.kubevirt.io/${name} interface ${p.iface}: macAddress ${p.old ?? '(none)'} → ${mac}${o.dryRun ? ' (server dry run: nothing changed)' : ''}\n`,
    );
  }
  if (o.dryRun) return 0;
  return followMacChanges(ctx, namespace, name, updated, changes, o);
}

/**
 * What follows a MAC change in the manifest (set-mac, drift adopt): for a running VM the restart or the note that one is
 * required, then optionally waiting for the new MACs and the connectivity check.
 */
export async function followMacChanges(
  ctx: CommandContext,
  namespace: string,
  name: string,
  updated: VirtualMachine,
  changes: MacChange[],
  o: ApplyOptions,
): Promise<number> {
  const client = ctx.client();
  const out = ctx.io.stdout;
  const vmi = await getOrUndefined(
    client.get<VirtualMachineInstance>('VirtualMachineInstance', { namespace, name }),
  );
  const nsFlag = ctx.namespaceFlag(namespace);
  if (vmi === undefined) {
    out.write(
      `${name} is not running: the new MAC applies when it starts (harrow start ${name}${nsFlag})\n`,
    );
    return 0;
  }
  const views = interfaceViews(updated, vmi, undefined);
  const pending = changes.filter(
    (c) => !sameMac(views.find((v) => v.name === c.iface)?.platformMac, c.mac),
  );
  if (pending.length === 0 && vmi.status?.phase === 'Running') {
    out.write(
      `the running instance already uses ${changes.map((c) => `${c.mac} on ${c.iface}`).join(', ')}\n`,
    );
    return 0;
  }
  const since = ctx.now();
  if (o.restart) {
    await client.restart(namespace, name);
    out.write(`virtualmachine.kubevirt.io/${name} restarting to apply the new MAC\n`);
  } else {
    out.write(
      `restart required: the guest keeps its current MAC until ${name} restarts (harrow restart ${name}${nsFlag}, or again with --restart)\n`,
    );
  }
  if (!o.wait) return 0;
  const deadline = Date.now() + o.timeoutMs;
  await waitForNewMacs(ctx.io, client, namespace, name, pending, deadline);
  out.write(`${name} runs with ${pending.map((c) => `${c.mac} on ${c.iface}`).join(', ')}\n`);
  const results = await pollUntil(
    ctx.io,
    { label: `${name} connectivity check`, timeoutMs: Math.max(1000, deadline - Date.now()) },
    async () => {
      const [records, vmNow] = await Promise.all([
        client.listAll<AuditRecord>('AuditRecord', {
          namespace,
          labelSelector: `harrow.io/name=${name}`,
        }),
        client.get<VirtualMachine>('VirtualMachine', { namespace, name }),
      ]);
      const found = pending.map((c) => ({
        change: c,
        result: findConnectivity(records, vmNow, c.iface, c.mac, since),
      }));
      const missing = found.filter((f) => f.result === undefined);
      return missing.length === 0
        ? { done: true, value: found.map((f) => ({ change: f.change, result: f.result! })) }
        : {
            done: false,
            status: `checking connectivity on ${missing.map((f) => f.change.iface).join(', ')}`,
          };
    },
  );
  let failed = false;
  for (const { change, result } of results) {
    if (result.ok) out.write(`connectivity ${change.iface}: ok — ${result.message}\n`);
    else {
      failed = true;
      ctx.io.stderr.write(
        `error: connectivity check failed for ${name}/${change.iface} (${change.mac}): ${result.message}\n`,
      );
    }
  }
  return failed ? 1 : 0;
}

export async function runSetMac(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [name, iface, mac] = args.positionals as [string, string, string];
  return applyMacChanges(
    ctx,
    ctx.namespace(),
    name,
    [{ iface, mac }],
    changeOptions(args.values, 'set-mac'),
  );
}
