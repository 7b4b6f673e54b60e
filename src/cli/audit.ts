// `harrow audit verify`: walks the audit hash chains (through the API, offline in a data dir, or straight from etcd) and
// names every record altered, removed or reordered.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChainHead, ChainReport } from '../audit/chain.ts';
import type { KubeObject } from '../resources/meta.ts';
import type { ResourceStore } from '../store/types.ts';
import { type CommandContext } from './context.ts';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from './errors.ts';
import type { CheckReport } from './check-report.ts';
import { printData } from './output.ts';
import type { ParsedCommandLine } from './args.ts';
import { storeFlags } from './store-flags.ts';

type Chains = { records: KubeObject[]; heads?: Map<string, ChainHead> };

/** The records and every chain head, read from `store`; closes it. */
async function readChains(store: ResourceStore): Promise<Chains> {
  const { chainHeads } = await import('../audit/chain.ts');
  try {
    const { items: heads } = await store.list('AuditChainHead');
    const { items: records } = await store.list('AuditRecord');
    return { records, heads: chainHeads(heads) };
  } finally {
    await store.close();
  }
}

async function offlineChain(dataDir: string): Promise<Chains> {
  const path = join(dataDir, 'harrow.db');
  if (!existsSync(path)) throw new CliError(`no Harrow store at ${path}`);
  const { openSqliteStore } = await import('../store/sqlite/store.ts');
  // Read-write open, but nothing is written: WAL lets this read beside a running server.
  return readChains(await openSqliteStore(path));
}

async function etcdChain(endpoints: string[], prefix: string | undefined): Promise<Chains> {
  const { openEtcdStore } = await import('../store/etcd/store.ts');
  return readChains(
    await openEtcdStore({ endpoints, ...(prefix !== undefined ? { prefix } : {}) }),
  );
}

function print(ctx: CommandContext, report: ChainReport, withHead: boolean): void {
  if (ctx.globals.output !== 'table') {
    const shared: CheckReport = {
      check: 'audit-chain',
      ok: report.ok,
      records: report.records,
      last: report.last,
      chains: report.chains,
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
  const heads = withHead
    ? `, matching the chain head${report.chains.length > 1 ? 's' : ''}`
    : ' (the chain heads are checked only with --data-dir or --etcd)';
  const [only] = report.chains;
  const chains =
    report.chains.length > 1
      ? ` in ${report.chains.length} chains (${report.chains.map((c) => `${c.chain}: 1–${c.last}`).join(', ')})`
      : `, sequence 1–${only?.last ?? 0}`;
  ctx.io.stdout.write(
    report.ok
      ? `audit chain intact: ${report.records} record(s)${chains}${heads}\n`
      : `audit chain broken: ${report.problems.length} problem(s) in ${report.records} record(s)\n`,
  );
}

export async function runAudit(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [sub] = args.positionals;
  if (sub !== 'verify')
    throw new UsageError(`audit: unknown subcommand ${JSON.stringify(sub)} (only verify)`, 'audit');
  const dir = args.values['data-dir'] as string | undefined;
  const etcd = storeFlags(args.values, 'audit verify');
  if (etcd && dir !== undefined)
    throw new UsageError(
      'audit verify: --data-dir and --etcd name two stores: give one',
      'audit verify',
    );
  const { verifyAuditChain } = await import('../audit/chain.ts');
  const chain: Chains =
    etcd?.kind === 'etcd'
      ? await etcdChain(etcd.endpoints, etcd.prefix)
      : dir !== undefined
        ? await offlineChain(resolve(ctx.io.cwd, dir))
        : { records: await ctx.client().listAll('AuditRecord') };
  const report = verifyAuditChain(chain.records, chain.heads);
  print(ctx, report, chain.heads !== undefined);
  return report.ok ? EXIT_OK : EXIT_FAILURE;
}
