// `harrow fsck`: checks the store's MAC allocations, instances and launcher pods against the manifests; --repair fixes what is safe.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FsckProblem, FsckSource, RepairOutcome } from '../fsck/check.ts';
import { type CommandContext } from './context.ts';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from './errors.ts';
import { objectName, type CheckProblem, type CheckReport } from './check-report.ts';
import { printData } from './output.ts';
import { liveServerFile } from './serve.ts';
import type { ParsedCommandLine } from './args.ts';

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

export async function runFsck(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
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
}
