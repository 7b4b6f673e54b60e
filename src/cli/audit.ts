// `harrow audit verify`: walks the audit hash chain (through the API, or offline in a data dir) and names every record
// altered, removed or reordered.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChainHead, ChainReport } from '../audit/chain.ts';
import type { KubeObject } from '../resources/meta.ts';
import { type CommandContext } from './context.ts';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from './errors.ts';
import type { CheckReport } from './check-report.ts';
import { printData } from './output.ts';
import type { ParsedCommandLine } from './args.ts';

async function offlineChain(dataDir: string): Promise<{ records: KubeObject[]; head?: ChainHead }> {
  const path = join(dataDir, 'harrow.db');
  if (!existsSync(path)) throw new CliError(`no Harrow store at ${path}`);
  const [{ openSqliteStore }, { AUDIT_CHAIN_HEAD }] = await Promise.all([
    import('../store/sqlite/store.ts'),
    import('../audit/chain.ts'),
  ]);
  // Read-write open, but nothing is written: WAL lets this read beside a running server.
  const store = await openSqliteStore(path);
  try {
    const head = await store.get(AUDIT_CHAIN_HEAD);
    const { items: records } = await store.list('AuditRecord');
    return { records, ...(head ? { head: head.spec as ChainHead } : {}) };
  } finally {
    await store.close();
  }
}

function print(ctx: CommandContext, report: ChainReport, withHead: boolean): void {
  if (ctx.globals.output !== 'table') {
    const shared: CheckReport = {
      check: 'audit-chain',
      ok: report.ok,
      records: report.records,
      last: report.last,
      problems: report.problems.map(({ kind, record, message, ...detail }) => ({
        kind,
        ...(record !== undefined ? { name: record } : {}),
        message,
        ...detail,
      })),
    };
    printData(ctx.io, ctx.globals.output, shared);
    return;
  }
  for (const p of report.problems) ctx.io.stdout.write(`${p.kind}: ${p.message}\n`);
  ctx.io.stdout.write(
    report.ok
      ? `audit chain intact: ${report.records} record(s), sequence 1–${report.last}${withHead ? ', matching the chain head' : ' (the chain head is checked only with --data-dir)'}\n`
      : `audit chain broken: ${report.problems.length} problem(s) in ${report.records} record(s)\n`,
  );
}

export async function runAudit(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [sub] = args.positionals;
  if (sub !== 'verify')
    throw new UsageError(`audit: unknown subcommand ${JSON.stringify(sub)} (only verify)`, 'audit');
  const dir = args.values['data-dir'] as string | undefined;
  const { verifyAuditChain } = await import('../audit/chain.ts');
  const chain =
    dir !== undefined
      ? await offlineChain(resolve(ctx.io.cwd, dir))
      : { records: await ctx.client().listAll('AuditRecord') };
  const report = verifyAuditChain(chain.records, chain.head);
  print(ctx, report, chain.head !== undefined);
  return report.ok ? EXIT_OK : EXIT_FAILURE;
}
