// `harrow get TYPE [NAME]`: tables of VMs, VMIs, MACs, audit records, pods, networks and events; raw objects with -o.
import { ApiError } from '../client/errors.ts';
import type { KindInfo } from '../resources/kinds.ts';
import type { KubeObject } from '../resources/meta.ts';
import type {
  AuditRecord,
  KubeEvent,
  MacAllocation,
  NetworkAttachmentDefinition,
  Pod,
  VirtualMachine,
  VirtualMachineInstance,
} from '../resources/types.ts';
import { expectPositionals } from './args.ts';
import {
  auditTable,
  eventTable,
  genericTable,
  macTable,
  netTable,
  podTable,
  vmTable,
  vmiTable,
  type Table,
} from './columns.ts';
import type { Command } from './command.ts';
import { type CommandContext } from './context.ts';
import { UsageError } from './errors.ts';
import { kindOfWord } from './kind-words.ts';
import { asList, printData, printTable } from './output.ts';

const byName = (a: KubeObject, b: KubeObject): number =>
  (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
  a.metadata.name.localeCompare(b.metadata.name);

/** Objects that belong to a VM: the VM and its VMI by name, its launcher pods by prefix. */
export const relatesToVm = (objectName: string, vm: string): boolean =>
  objectName === vm || objectName.startsWith(`virt-launcher-${vm}-`);

export const getCommand: Command = {
  name: 'get',
  summary: 'List or show resources (vm, vmi, macs, audit, pods, nets, events, …)',
  usage: `Usage: harrow get TYPE [NAME] [-n NS | -A] [-o table|json|yaml] [-l SELECTOR] [--vm VM]

Types: vm|vms, vmi|vmis, macs (MAC allocations), audit, pods, nets (network attachment definitions),
events, macpools, namespaces, nodes.

Columns:
  vm     NAME, AGE, STATUS, READY, MACS (interface=MAC from the manifest), DRIFT (guest MAC ≠ platform MAC)
  vmi    NAME, PHASE, NODE, IP, MAC (the platform's: pod interface), GUEST MAC (what the guest uses)
  macs   MAC, STATE, OWNER (namespace/vm/interface), QUARANTINE UNTIL
  audit  TIME, USER, VERB, RESOURCE, CHANGE, OUTCOME

Flags:
  -l, --selector SELECTOR   label selector, e.g. harrow.io/verb=patch
      --vm VM               audit and events: only those about this VM
  -A, --all-namespaces      every namespace
  -o, --output FORMAT       table (default), json or yaml (the raw objects)`,
  options: {
    selector: { type: 'string', short: 'l' },
    vm: { type: 'string' },
  },
  async run(ctx, args) {
    const [word, name] = expectPositionals(args.positionals, ['TYPE', 'NAME'], 'get', 1);
    const info = kindOfWord(word!, 'get');
    const vmFilter = args.values.vm as string | undefined;
    if (vmFilter !== undefined && info.kind !== 'AuditRecord' && info.kind !== 'Event') {
      throw new UsageError('get: --vm applies to audit and events only', 'get');
    }
    if (name !== undefined && ctx.globals.allNamespaces && info.namespaced) {
      throw new UsageError('get: a NAME needs one namespace, not -A', 'get');
    }
    const client = ctx.client();
    const namespace = info.namespaced && !ctx.globals.allNamespaces ? ctx.namespace() : undefined;
    let objects: KubeObject[];
    if (name !== undefined) {
      objects = [
        await client.get(info.kind, { ...(namespace !== undefined ? { namespace } : {}), name }),
      ];
    } else {
      const selectors = [args.values.selector as string | undefined];
      if (vmFilter !== undefined && info.kind === 'AuditRecord')
        selectors.push(`harrow.io/name=${vmFilter}`);
      const labelSelector = selectors.filter((s) => s !== undefined && s !== '').join(',');
      objects = await client.listAll(info.kind, {
        ...(namespace !== undefined ? { namespace } : {}),
        ...(labelSelector !== '' ? { labelSelector } : {}),
      });
      objects.sort(byName);
    }
    if (vmFilter !== undefined) {
      objects = objects.filter((o) =>
        info.kind === 'AuditRecord'
          ? relatesToVm((o as AuditRecord).spec?.resource?.name ?? '', vmFilter)
          : relatesToVm((o as KubeEvent).involvedObject?.name ?? '', vmFilter),
      );
    }
    if (ctx.globals.output !== 'table') {
      printData(ctx.io, ctx.globals.output, name !== undefined ? objects[0] : asList(objects));
      return 0;
    }
    const table = await tableFor(ctx, info, objects, namespace, name !== undefined);
    const where = info.namespaced
      ? namespace !== undefined
        ? ` in ${namespace} namespace`
        : ''
      : '';
    printTable(ctx.io, table, `No resources found${where}.`);
    return 0;
  },
};

async function tableFor(
  ctx: CommandContext,
  info: KindInfo,
  objects: KubeObject[],
  namespace: string | undefined,
  single: boolean,
): Promise<Table> {
  const client = ctx.client();
  const now = ctx.now();
  const allNs = namespace === undefined && info.namespaced;
  const scope = namespace !== undefined ? { namespace } : {};
  switch (info.kind) {
    case 'VirtualMachine': {
      let vmis: VirtualMachineInstance[];
      if (single) {
        const only = objects[0]!;
        vmis = await client
          .get<VirtualMachineInstance>('VirtualMachineInstance', {
            namespace: only.metadata.namespace ?? namespace ?? 'default',
            name: only.metadata.name,
          })
          .then((v) => [v])
          .catch((e: unknown) => {
            if (e instanceof ApiError && e.code === 404) return [];
            throw e;
          });
      } else {
        vmis = await client.listAll<VirtualMachineInstance>('VirtualMachineInstance', scope);
      }
      return vmTable(objects as VirtualMachine[], vmis, now, allNs);
    }
    case 'VirtualMachineInstance': {
      const pods = await client.listAll<Pod>('Pod', scope);
      return vmiTable(objects as VirtualMachineInstance[], pods, allNs);
    }
    case 'MacAllocation':
      return macTable(objects as MacAllocation[]);
    case 'AuditRecord':
      return auditTable(objects as AuditRecord[], allNs);
    case 'Pod':
      return podTable(objects as Pod[], now, allNs);
    case 'NetworkAttachmentDefinition':
      return netTable(objects as NetworkAttachmentDefinition[], now, allNs);
    case 'Event':
      return eventTable(objects as KubeEvent[], now, allNs);
    default:
      return genericTable(objects, now, allNs);
  }
}
