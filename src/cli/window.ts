// `harrow window set|show|clear`: the maintenance window of a VM or a namespace; and `restart --in-window|--cancel`.
import type { HarrowClient } from '../client/client.ts';
import { formatWindowDuration, nextWindowStart } from '../maintenance/cron.ts';
import {
  ANNOTATION_RESTART_SCHEDULED_AT,
  CONDITION_RESTART_SCHEDULED,
  appliedWindow,
  openAt,
  wallClock,
  windowCauses,
  type AppliedWindow,
  type WindowSpec,
} from '../maintenance/window.ts';
import type { KubeObject } from '../resources/meta.ts';
import { ANNOTATION_MAINTENANCE_WINDOW, type VirtualMachine } from '../resources/types.ts';
import type { ParsedCommandLine } from './args.ts';
import { type CommandContext } from './context.ts';
import { UsageError } from './errors.ts';
import { conditionOf } from '../resources/meta.ts';
import { printData, printTable } from './output.ts';

export interface WindowView {
  namespace: string;
  vm?: string;
  /** Where the window comes from: the VM's own annotation or its namespace's; none when neither has one. */
  source: 'VirtualMachine' | 'Namespace' | 'none';
  schedule?: string;
  duration?: string;
  timeZone?: string;
  /** When the window is open now, when it closes; else when it next opens (RFC 3339 and wall clock). */
  openUntil?: string;
  nextStart?: string;
  nextStartLocal?: string;
  restartScheduledAt?: string;
  restartScheduled?: string;
}

/** What `window show` reports for one VM (or, without a VM, the namespace), computed at `now`. */
export function windowView(
  namespace: string,
  ns: KubeObject | undefined,
  vm: VirtualMachine | undefined,
  now: Date,
): WindowView {
  let applied: AppliedWindow | undefined;
  let problem: string | undefined;
  try {
    applied = vm ? appliedWindow(vm, ns) : ns ? appliedWindow(ns, undefined) : undefined;
  } catch (e) {
    problem = e instanceof Error ? e.message : String(e);
  }
  const view: WindowView = {
    namespace,
    ...(vm ? { vm: vm.metadata.name } : {}),
    source: applied ? (vm ? applied.source : 'Namespace') : 'none',
  };
  if (problem) view.restartScheduled = problem;
  if (applied) {
    const w = applied.window;
    view.schedule = w.schedule;
    view.duration = formatWindowDuration(w.durationMinutes);
    view.timeZone = w.timeZone;
    const open = openAt(w, now);
    if (open) view.openUntil = open.end.toISOString();
    const next = nextWindowStart(w.cron, w.timeZone, now);
    view.nextStart = next.toISOString();
    view.nextStartLocal = wallClock(next, w.timeZone);
  }
  const at = vm?.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT];
  if (at) view.restartScheduledAt = at;
  const condition = conditionOf(vm?.status?.conditions, CONDITION_RESTART_SCHEDULED);
  if (condition?.message)
    view.restartScheduled = `${condition.status === 'True' ? '' : `${condition.reason ?? 'not scheduled'}: `}${condition.message}`;
  return view;
}

/** The annotation value for the flags, or a UsageError naming the flag at fault. */
export function windowAnnotation(values: ParsedCommandLine['values']): string {
  const schedule = values.schedule as string | undefined;
  const duration = values.duration as string | undefined;
  const timeZone = (values['time-zone'] as string | undefined) ?? 'UTC';
  if (schedule === undefined)
    throw new UsageError(
      "window set: --schedule is required (a cron expression such as '0 2 * * SUN')",
      'window',
    );
  if (duration === undefined)
    throw new UsageError(
      'window set: --duration is required (how long the window stays open, e.g. 2h)',
      'window',
    );
  const spec: WindowSpec = { schedule, duration, timeZone };
  const raw = JSON.stringify(spec);
  const flags: Record<string, string> = {
    schedule: '--schedule',
    duration: '--duration',
    timeZone: '--time-zone',
  };
  const { causes } = windowCauses(raw, 'window');
  if (causes.length > 0) {
    throw new UsageError(
      `window set: ${causes.map((c) => `${flags[c.field.replace(/^window\./, '')] ?? c.field}: ${c.message}`).join('; ')}`,
      'window',
    );
  }
  return raw;
}

const target = (
  ctx: CommandContext,
  vm: string | undefined,
): { kind: string; ref: { namespace?: string; name: string }; label: string } =>
  vm === undefined
    ? { kind: 'Namespace', ref: { name: ctx.namespace() }, label: `namespace/${ctx.namespace()}` }
    : {
        kind: 'VirtualMachine',
        ref: { namespace: ctx.namespace(), name: vm },
        label: `virtualmachine.kubevirt.io/${vm}`,
      };

async function setWindow(
  ctx: CommandContext,
  args: ParsedCommandLine,
  vm: string | undefined,
): Promise<number> {
  const raw = windowAnnotation(args.values);
  const t = target(ctx, vm);
  await ctx.client().mergePatch(t.kind, t.ref, {
    metadata: { annotations: { [ANNOTATION_MAINTENANCE_WINDOW]: raw } },
  });
  const spec = JSON.parse(raw) as WindowSpec;
  const next = nextWindowStart(spec.schedule, spec.timeZone ?? 'UTC', new Date());
  ctx.io.stdout.write(
    `${t.label} maintenance window set: "${spec.schedule}" for ${spec.duration} (${spec.timeZone}); next opens ${wallClock(next, spec.timeZone ?? 'UTC')} (${next.toISOString()})\n`,
  );
  return 0;
}

async function clearWindow(ctx: CommandContext, vm: string | undefined): Promise<number> {
  const t = target(ctx, vm);
  const client = ctx.client();
  const current = await client.get(t.kind, t.ref);
  if (current.metadata.annotations?.[ANNOTATION_MAINTENANCE_WINDOW] === undefined) {
    ctx.io.stdout.write(`${t.label} has no maintenance window of its own\n`);
    return 0;
  }
  await client.mergePatch(t.kind, t.ref, {
    metadata: { annotations: { [ANNOTATION_MAINTENANCE_WINDOW]: null } },
  });
  ctx.io.stdout.write(
    `${t.label} maintenance window cleared${vm ? ` (the namespace's window, if any, applies now)` : ''}\n`,
  );
  return 0;
}

async function showWindow(ctx: CommandContext, vm: string | undefined): Promise<number> {
  const client: HarrowClient = ctx.client();
  const namespace = ctx.namespace();
  const ns = await client.get('Namespace', { name: namespace });
  const now = new Date();
  const views = vm
    ? [
        windowView(
          namespace,
          ns,
          await client.get<VirtualMachine>('VirtualMachine', { namespace, name: vm }),
          now,
        ),
      ]
    : [
        windowView(namespace, ns, undefined, now),
        ...(await client.listAll<VirtualMachine>('VirtualMachine', { namespace }))
          .map((v) => windowView(namespace, ns, v, now))
          .filter(
            (v) =>
              v.source === 'VirtualMachine' ||
              v.restartScheduledAt !== undefined ||
              v.restartScheduled !== undefined,
          ),
      ];
  if (ctx.globals.output !== 'table') {
    printData(ctx.io, ctx.globals.output, vm ? views[0] : views);
    return 0;
  }
  printTable(ctx.io, {
    headers: [
      'TARGET',
      'WINDOW FROM',
      'SCHEDULE',
      'DURATION',
      'TIME ZONE',
      'NEXT OPENS',
      'RESTART PLANNED',
    ],
    rows: views.map((v) => [
      v.vm ?? `namespace/${v.namespace}`,
      v.source,
      v.schedule ?? '-',
      v.duration ?? '-',
      v.timeZone ?? '-',
      v.openUntil ? `open until ${v.openUntil}` : (v.nextStartLocal ?? '-'),
      v.restartScheduledAt ?? '-',
    ]),
  });
  for (const v of views)
    if (v.restartScheduled) ctx.io.stdout.write(`${v.vm ?? v.namespace}: ${v.restartScheduled}\n`);
  return 0;
}

export async function runWindow(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [verb, vm] = args.positionals;
  const nsWide = args.values['namespace-wide'] === true;
  if (nsWide && vm !== undefined)
    throw new UsageError(`window ${verb}: give either VM or --namespace-wide, not both`, 'window');
  switch (verb) {
    case 'set':
      if (!nsWide && vm === undefined)
        throw new UsageError(
          'window set: name a VM, or give --namespace-wide for the namespace (-n)',
          'window',
        );
      return setWindow(ctx, args, vm);
    case 'clear':
      if (!nsWide && vm === undefined)
        throw new UsageError(
          "window clear: name a VM, or give --namespace-wide to clear the namespace's window (-n)",
          'window',
        );
      return clearWindow(ctx, vm);
    default:
      return showWindow(ctx, vm);
  }
}

/** `restart VM --in-window` / `--cancel`: plan a restart into the VM's window, or drop the plan. */
export async function restartInWindow(
  ctx: CommandContext,
  name: string,
  cancel: boolean,
): Promise<number> {
  const vm = await ctx
    .client()
    .maintenanceRestart<VirtualMachine>(
      ctx.namespace(),
      name,
      cancel ? 'cancel-restart' : 'schedule-restart',
    );
  if (cancel) {
    ctx.io.stdout.write(`virtualmachine.kubevirt.io/${name} scheduled restart cancelled\n`);
    return 0;
  }
  const condition = conditionOf(vm.status?.conditions, CONDITION_RESTART_SCHEDULED);
  ctx.io.stdout.write(
    `virtualmachine.kubevirt.io/${name} ${condition?.message ?? `restart planned for ${vm.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT] ?? '?'}`}\n`,
  );
  return 0;
}
