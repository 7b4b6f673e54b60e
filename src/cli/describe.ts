// `harrow describe vm NAME`: status, conditions, per-interface platform/guest MACs, IPs, lease, drift remedies, events.
import { ApiError } from '../client/errors.ts';
import type { Condition } from '../resources/meta.ts';
import {
  LABEL_VM_NAME,
  type AuditRecord,
  type KubeEvent,
  type Pod,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import { launcherPodOf } from './launcher-pod.ts';
import { UsageError } from './errors.ts';
import { relatesToVm } from './get.ts';
import { interfaceViews, type InterfaceView } from '../network/interface-view.ts';
import { sameMac } from '../network/mac-precedence.ts';
import { remediesOf, remedyCommand } from './remedies.ts';
import { kindOfWord } from './kind-words.ts';

const eventTime = (e: KubeEvent): string =>
  e.lastTimestamp ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? '';
const sortEvents = (events: KubeEvent[]): KubeEvent[] =>
  [...events].sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
import { printData } from './output.ts';
import { age, formatTable } from './table.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

export interface VmFacts {
  vm: VirtualMachine;
  vmi?: VirtualMachineInstance;
  pod?: Pod;
  events: KubeEvent[];
  /** The VM's audit records: the connectivity checks among them carry the lease seen for a new MAC. */
  audit?: AuditRecord[];
}

/** The latest connectivity check that saw a lease for this interface's current platform MAC. */
export function checkedLease(
  audit: AuditRecord[],
  iface: string,
  platformMac: string | undefined,
): { ip: string; mac: string; at: string } | undefined {
  const hit = audit
    .filter(
      (r) =>
        r.spec?.connectivity?.interface === iface &&
        r.spec.connectivity.lease &&
        sameMac(r.spec.connectivity.lease.macAddress, platformMac),
    )
    .sort((a, b) => a.spec.timestamp.localeCompare(b.spec.timestamp))
    .at(-1);
  const lease = hit?.spec.connectivity?.lease;
  return hit && lease ? { ip: lease.ip, mac: lease.macAddress, at: hit.spec.timestamp } : undefined;
}

const indent = (text: string, by: string): string =>
  text
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');

function conditionsBlock(title: string, conditions: Condition[] | undefined): string {
  if (!conditions || conditions.length === 0) return `${title}: none\n`;
  const rows = conditions.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']);
  return `${title}:\n${indent(formatTable(['TYPE', 'STATUS', 'REASON', 'MESSAGE'], rows), '  ')}`;
}

function interfaceBlock(
  v: InterfaceView,
  running: boolean,
  audit: AuditRecord[],
  now: Date,
): string {
  const lines: [string, string][] = [];
  lines.push(['Manifest MAC', v.specMac ?? '(none yet: the pool assigns one)']);
  if (v.fixedAddress) lines.push(['Fixed address', `${v.fixedAddress}  (static-ip annotation)`]);
  if (running) {
    lines.push([
      'Platform MAC',
      v.platformMac === undefined
        ? '(not known yet)'
        : `${v.platformMac}  (${v.platformSource === 'network-status' ? `pod interface ${v.podInterfaceName ?? '?'}, from the pod's network-status` : 'from the VMI status'})`,
    ]);
    lines.push([
      'Guest MAC',
      v.guestMac === undefined
        ? '(not reported yet: the guest agent has not answered)'
        : `${v.guestMac}${v.guestInterfaceName ? `  (${v.guestInterfaceName} in the guest)` : ''}${v.mismatch ? '  ← MISMATCH: the guest does not use the platform MAC' : ''}`,
    ]);
    lines.push(['IPs', v.ips.length > 0 ? v.ips.join(', ') : '(none)']);
    const checked = v.lease ? undefined : checkedLease(audit, v.name, v.platformMac);
    if (v.lease) {
      lines.push([
        'Lease',
        `${v.lease.ip}${v.lease.mac ? ` for ${v.lease.mac}` : ''}${v.lease.expires ? ` until ${v.lease.expires}` : ''}`,
      ]);
    } else if (checked) {
      lines.push([
        'Lease',
        `${checked.ip} for ${checked.mac}  (seen by the connectivity check ${age(checked.at, now)} ago)`,
      ]);
    }
    if (v.pendingRestart)
      lines.push(['Pending', `the manifest asks for ${v.specMac}; a restart applies it`]);
  }
  const w = Math.max(...lines.map(([k]) => k.length)) + 2;
  return (
    `  ${v.name}  (${v.binding} binding, network ${v.network})\n` +
    lines.map(([k, val]) => `    ${(k + ':').padEnd(w)}${val}`).join('\n') +
    '\n'
  );
}

/** The human description of a VM; `nsFlag` is repeated in the suggested commands. */
export function renderVmDescription(facts: VmFacts, now: Date, nsFlag: string): string {
  const { vm, vmi, pod } = facts;
  const views = interfaceViews(vm, vmi, pod);
  const status = vm.status ?? {};
  const strategy =
    vm.spec?.runStrategy ??
    (vm.spec?.running === true
      ? 'Always (running: true)'
      : vm.spec?.running === false
        ? 'Halted (running: false)'
        : '-');
  const head: [string, string][] = [
    ['Name', vm.metadata.name],
    ['Namespace', vm.metadata.namespace ?? 'default'],
    [
      'Created',
      vm.metadata.creationTimestamp
        ? `${age(vm.metadata.creationTimestamp, now)} ago (${vm.metadata.creationTimestamp})`
        : '-',
    ],
    ['Status', status.printableStatus ?? '-'],
    ['Ready', status.ready === true ? 'True' : 'False'],
    ['Run strategy', String(strategy)],
    [
      'Instance',
      vmi
        ? `${vmi.metadata.name}, phase ${vmi.status?.phase ?? '-'}${vmi.status?.nodeName ? ` on ${vmi.status.nodeName}` : ''}`
        : '(none: the VM is not running)',
    ],
  ];
  if (pod)
    head.push([
      'Launcher pod',
      `${pod.metadata.name}${pod.status?.phase ? `, ${pod.status.phase}` : ''}`,
    ]);
  const w = Math.max(...head.map(([k]) => k.length)) + 2;
  let out = head.map(([k, v]) => `${(k + ':').padEnd(w)}${v}`).join('\n') + '\n\n';
  out += conditionsBlock('Conditions', status.conditions);
  if (vmi) out += '\n' + conditionsBlock('Instance conditions', vmi.status?.conditions);
  out += '\nInterfaces:\n';
  out +=
    views.length === 0
      ? '  none\n'
      : views.map((v) => interfaceBlock(v, vmi !== undefined, facts.audit ?? [], now)).join('');

  const drifted = views.filter((v) => v.mismatch);
  const mismatch = vmi?.status?.conditions?.find(
    (c) => c.type === 'GuestMACMismatch' && c.status === 'True',
  );
  if (drifted.length > 0 || mismatch) {
    out += '\nGuest MAC mismatch:\n';
    for (const v of drifted) {
      const since = v.guestMacMismatch ? ` (since ${v.guestMacMismatch.since})` : '';
      out += `  ${v.name}: the guest uses ${v.guestMac}, the platform assigned ${v.platformMac}${since}\n`;
      const record = v.guestMacMismatch;
      if (record?.cause === 'GuestOSConfiguration')
        out +=
          `    the guest's OS configuration sets ${v.guestMac} at boot` +
          `${record.setBy ? ` (${record.setBy.path} line ${record.setBy.line}: ${record.setBy.text})` : ''}: ` +
          `it survived a restart, and a restart will not restore ${v.platformMac}\n`;
      const held = v.guestMacMismatch?.heldBy;
      if (held?.namespace === 'same')
        out += `    ${v.guestMac} is allocated to VM ${held.name} (interface ${held.interface}): the two clash on the network\n`;
      else if (held)
        out += `    ${v.guestMac} is allocated to a VM in another namespace: the two clash on the network\n`;
    }
    // The condition's own words only when no interface view could say which MAC differs.
    if (drifted.length === 0 && mismatch?.message) out += indent(mismatch.message, '  ') + '\n';
    const byOs = drifted.some((v) => v.guestMacMismatch?.cause === 'GuestOSConfiguration');
    out +=
      '  Only frames from the platform MAC pass the spoof check, so the guest has no connectivity on that interface,\n' +
      (byOs
        ? "  and a restart does not help while the guest's configuration sets its MAC. Remedies:\n"
        : '  and a restart gives the guest the platform MAC again. Remedies:\n');
    const namespace = vm.metadata.namespace ?? 'default';
    const lines = new Set<string>();
    for (const v of drifted.length > 0 ? drifted : views.slice(0, 1)) {
      const remedies =
        drifted.length > 0
          ? remediesOf(v)
          : [
              {
                action: 'restore-mac',
                macAddress: '',
                available: true,
                takesEffect: 'now',
              } as const,
            ];
      for (const r of remedies) {
        const command = remedyCommand(r, vm.metadata.name, v.name, namespace);
        if (command === undefined && r.action === 'restore-mac') {
          const setBy = v.guestMacMismatch?.setBy;
          lines.add(
            `    fix the guest's configuration${setBy ? ` (${setBy.path} line ${setBy.line})` : ''}, then harrow restart ${vm.metadata.name}    # the guest gets ${r.macAddress} again\n`,
          );
        } else if (command === undefined) {
          lines.add(`    (adopting ${r.macAddress} is refused while another VM holds it)\n`);
        } else if (r.action === 'restore-mac') {
          lines.add(`    ${command}    # restart: the guest gets the platform MAC again\n`);
        } else {
          lines.add(`    ${command}    # make ${r.macAddress} the manifest MAC, then restart\n`);
        }
      }
    }
    out += [...lines].join('');
  }
  const restart = status.conditions?.find(
    (c) => c.type === 'RestartRequired' && c.status === 'True',
  );
  if (restart)
    out += `\nRestart required: ${restart.message ?? ''}\n  harrow restart ${vm.metadata.name}${nsFlag}\n`;

  const events = sortEvents(facts.events).slice(-15);
  out += '\nEvents:\n';
  out +=
    events.length === 0
      ? '  none\n'
      : indent(
          formatTable(
            ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
            events.map((e) => [
              age(e.lastTimestamp ?? e.firstTimestamp ?? e.metadata.creationTimestamp, now),
              e.type ?? '',
              e.reason ?? '',
              e.involvedObject
                ? `${e.involvedObject.kind.toLowerCase()}/${e.involvedObject.name}`
                : '',
              e.message ?? '',
            ]),
          ),
          '  ',
        );
  return out;
}

/**
 * A VMI created directly, seen through the VM view: its spec stands in for the template and its phase for the status,
 * so the same rendering shows its conditions, interfaces and events.
 */
function bareVmiAsVm(vmi: VirtualMachineInstance): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: vmi.metadata,
    spec: { template: { spec: vmi.spec } },
    status: {
      printableStatus: vmi.status?.phase ?? 'Pending',
      ready: vmi.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    },
  } as unknown as VirtualMachine;
}

export async function runDescribe(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [word, name] = args.positionals;
  const info = kindOfWord(word!, 'describe');
  if (info.kind !== 'VirtualMachine' && info.kind !== 'VirtualMachineInstance') {
    throw new UsageError(
      `describe: only vm and vmi can be described (use get ${word} ${name} -o yaml)`,
      'describe',
    );
  }
  const client = ctx.client();
  const namespace = ctx.namespace();
  const orNone = <T>(p: Promise<T>): Promise<T | undefined> =>
    p.catch((e: unknown) => {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    });
  const eventsAbout = (object: string): Promise<KubeEvent[]> =>
    client.listAll<KubeEvent>('Event', {
      namespace,
      fieldSelector: `involvedObject.name=${object}`,
    });
  const [maybeVm, vmi, pods, vmEvents, audit] = await Promise.all([
    // A VMI created directly has no VM: `describe vmi` then shows the VMI alone.
    info.kind === 'VirtualMachineInstance'
      ? orNone(client.get<VirtualMachine>('VirtualMachine', { namespace, name: name! }))
      : client.get<VirtualMachine>('VirtualMachine', { namespace, name: name! }),
    orNone(
      client.get<VirtualMachineInstance>('VirtualMachineInstance', { namespace, name: name! }),
    ),
    client.listAll<Pod>('Pod', { namespace, labelSelector: `${LABEL_VM_NAME}=${name}` }),
    eventsAbout(name!),
    client.listAll<AuditRecord>('AuditRecord', {
      namespace,
      labelSelector: `harrow.io/name=${name}`,
    }),
  ]);
  if (!maybeVm && !vmi)
    throw new ApiError({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 404,
      reason: 'NotFound',
      message: `virtualmachineinstances.kubevirt.io "${name}" not found`,
    });
  const vm = maybeVm ?? bareVmiAsVm(vmi!);
  const pod = vmi ? launcherPodOf(vmi, pods) : undefined;
  // The VM and its VMI share the name; each launcher pod (past ones too) has its own.
  const podEvents = await Promise.all(
    pods
      .filter((p) => relatesToVm(p.metadata.name, name!))
      .map((p) => eventsAbout(p.metadata.name)),
  );
  const mine = [...vmEvents, ...podEvents.flat()];
  const facts: VmFacts = {
    vm,
    ...(vmi ? { vmi } : {}),
    ...(pod ? { pod } : {}),
    events: mine,
    audit,
  };
  if (ctx.globals.output !== 'table') {
    printData(ctx.io, ctx.globals.output, facts);
    return 0;
  }
  ctx.io.stdout.write(renderVmDescription(facts, ctx.now(), ctx.namespaceFlag(namespace)));
  return 0;
}
