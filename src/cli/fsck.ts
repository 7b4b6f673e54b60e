// `harrow fsck`: checks the store's MAC allocations, instances and launcher pods against the manifests; --repair fixes what is safe.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FsckProblem, FsckSource, RepairOutcome } from '../fsck/check.ts';
import { expectPositionals } from './args.ts';
import type { Command } from './command.ts';
import { type CommandContext } from './context.ts';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from './errors.ts';
import { objectName, type CheckProblem, type CheckReport } from './check-report.ts';
import { printData } from './output.ts';
import { liveServerFile } from './serve.ts';

interface FsckReport {
  ok: boolean;
  problems: FsckProblem[];
  repaired?: RepairOutcome[];
  /** Problems left after --repair (re-checked). */
  remaining?: FsckProblem[];
}

const checkProblem = (p: FsckProblem): CheckProblem => {
  const { kind, object, message, ...detail } = p;
  return { kind, ...(object ? { name: objectName(object), object } : {}), message, ...detail };
};

/** fsck's verdict in the shape audit verify shares (ok, problems with kind/name/message), plus what --repair did. */
const asCheckReport = (r: FsckReport): CheckReport => ({
  check: 'fsck',
  ok: r.ok,
  problems: r.problems.map(checkProblem),
  ...(r.repaired
    ? { repaired: r.repaired.map((x) => ({ ...x, problem: checkProblem(x.problem) })) }
    : {}),
  ...(r.remaining ? { remaining: r.remaining.map(checkProblem) } : {}),
});

function print(ctx: CommandContext, report: FsckReport): void {
  const format = ctx.globals.output;
  if (format !== 'table') {
    printData(ctx.io, format, asCheckReport(report));
    return;
  }
  const line = (p: FsckProblem): string =>
    `${p.kind}: ${p.message}${p.repair && !report.repaired ? ` [--repair: ${p.repair}]` : ''}\n`;
  for (const p of report.problems) ctx.io.stdout.write(line(p));
  for (const r of report.repaired ?? []) {
    ctx.io.stdout.write(
      r.repaired
        ? `repaired ${r.problem.kind}: ${r.problem.repair ?? ''}\n`
        : `not repaired ${r.problem.kind}: ${r.error ?? ''}\n`,
    );
  }
  if (report.remaining)
    for (const p of report.remaining) ctx.io.stdout.write(`remaining ${line(p)}`);
  ctx.io.stdout.write(
    report.ok
      ? 'fsck: the store is consistent\n'
      : `fsck: ${(report.remaining ?? report.problems).length} problem(s)\n`,
  );
}

async function offline(ctx: CommandContext, dataDir: string, repair: boolean): Promise<FsckReport> {
  const path = join(dataDir, 'harrow.db');
  if (!existsSync(path)) throw new CliError(`no Harrow store at ${path}`);
  const live = liveServerFile(dataDir);
  if (live && repair) {
    throw new CliError(
      `harrow (pid ${live.pid}) is serving ${dataDir}: stop it before fsck --repair (the server's caches would not see the repairs)`,
    );
  }
  if (live) {
    // WAL lets this connection read beside the server's, but each kind is read in its own snapshot: a write in between may show as a problem.
    ctx.io.stderr.write(
      `Warning: harrow (pid ${live.pid}) is serving ${dataDir}; writes in flight may show as problems: run again to confirm\n`,
    );
  }
  const [{ openSqliteStore }, { planFsck, repairStore, storeSource, withoutPlans }] =
    await Promise.all([import('../store/sqlite/store.ts'), import('../fsck/check.ts')]);
  const store = await openSqliteStore(path);
  try {
    const planned = await planFsck(storeSource(store));
    const problems = withoutPlans(planned);
    if (!repair || problems.length === 0) return { ok: problems.length === 0, problems };
    const repaired: RepairOutcome[] = [];
    let next = planned;
    // A repair can uncover the next one (a deleted orphan VMI frees its MAC's allocation): repeat while one is possible.
    for (let pass = 0; pass < 3 && next.some((p) => p.ops); pass++) {
      repaired.push(...(await repairStore(store, next)));
      next = await planFsck(storeSource(store));
    }
    const remaining = withoutPlans(next);
    return { ok: remaining.length === 0, problems, repaired, remaining };
  } finally {
    await store.close();
  }
}

export const fsckCommand: Command = {
  name: 'fsck',
  summary:
    'Check the store: every MAC held by exactly one allocation of the right VM, no orphans; --repair what is safe',
  usage: `Usage: harrow fsck [--data-dir DIR [--repair]] [-o json|yaml]

Checks that every MAC a VM manifest carries is held by exactly one MacAllocation naming that VM and interface, that no
allocation is in use by nothing (manifest, instance or launcher pod), that no MAC is held twice, that every VMI has its
VM and every launcher Pod its VMI. Prints each problem and what --repair would do; exits 0 when clean, 1 otherwise.
-o json|yaml prints {check, ok, problems: [{kind, name, message, …}]}, the shape audit verify prints too.
  --data-dir DIR   read the store in DIR directly (offline); without it, check through the API (read only)
  --repair         with --data-dir, while no server runs on it: create a missing allocation when its MAC is free,
                   give an allocation to the VM whose manifest carries it when no other VM uses it, quarantine an
                   allocation nothing uses, delete VMIs without their VM and launcher pods without their VMI.
                   A MAC two VMs claim is never reassigned: it is reported for a person to decide.
                   Each repair is one atomic write with an AuditRecord (user system:harrow-fsck).`,
  options: { 'data-dir': { type: 'string' }, repair: { type: 'boolean' } },
  async run(ctx, args) {
    expectPositionals(args.positionals, [], 'fsck');
    const dir = args.values['data-dir'] as string | undefined;
    const repair = args.values.repair === true;
    let report: FsckReport;
    if (dir !== undefined) {
      report = await offline(ctx, resolve(ctx.io.cwd, dir), repair);
    } else {
      if (repair)
        throw new UsageError(
          'fsck: --repair needs --data-dir (repairs write MacAllocations, which the API keeps read-only)',
          'fsck',
        );
      const { planFsck, withoutPlans } = await import('../fsck/check.ts');
      const client = ctx.client();
      const source: FsckSource = { listAll: (kind) => client.listAll(kind) };
      const problems = withoutPlans(await planFsck(source));
      report = { ok: problems.length === 0, problems };
    }
    print(ctx, report);
    return report.ok ? EXIT_OK : EXIT_FAILURE;
  },
};
