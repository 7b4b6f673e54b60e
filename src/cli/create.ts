// `harrow create -f FILE` and `harrow delete`: objects from manifests (YAML/JSON, several documents, stdin), or by name.
import type { KubeObject } from '../resources/meta.ts';
import { type CommandContext } from './context.ts';
import { type DryRun, dryRunOf, dryRunSuffix } from './dry-run.ts';
import { UsageError, formatError } from './errors.ts';
import { kindOfWord, qualifiedName } from './kind-words.ts';
import { namespaceFor, readManifests } from './manifests.ts';
import { asList, printData } from './output.ts';
import type { ParsedCommandLine } from './args.ts';

export async function runCreate(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const files = (args.values.filename as string[] | undefined) ?? [];
  if (files.length === 0) throw new UsageError('create: -f FILE is required', 'create');
  if (args.positionals.length > 0)
    throw new UsageError(
      `create: unexpected argument ${JSON.stringify(args.positionals[0])}`,
      'create',
    );
  const dryRun = dryRunOf(args.values['dry-run'], 'create');
  const fieldValidation = fieldValidationOf(args.values.validate);
  const client = ctx.client();
  const created: KubeObject[] = [];
  let failed = false;
  for (const file of files) {
    for (const m of await readManifests(ctx.io, file)) {
      try {
        const namespace = namespaceFor(m, ctx.globals.namespace, () => ctx.namespace());
        // A client dry run sends nothing: the object as it would go, with the namespace it would go to.
        const obj =
          dryRun === 'client'
            ? {
                ...m.object,
                metadata: {
                  ...m.object.metadata,
                  ...(namespace !== undefined ? { namespace } : {}),
                },
              }
            : await client.create(
                m.info.kind,
                namespace !== undefined ? { namespace } : {},
                m.object,
                { dryRun: dryRun === 'server', fieldValidation },
              );
        created.push(obj);
        if (ctx.globals.output === 'table') {
          ctx.io.stdout.write(
            `${qualifiedName(m.info, obj.metadata?.name ?? m.object.metadata.name)} created${dryRunSuffix(dryRun)}\n`,
          );
        }
      } catch (e) {
        failed = true;
        ctx.io.stderr.write(
          prefixed(`${m.source} (${m.info.kind} ${m.object.metadata.name ?? ''})`, formatError(e)),
        );
      }
    }
  }
  if (ctx.globals.output !== 'table')
    printData(ctx.io, ctx.globals.output, created.length === 1 ? created[0] : asList(created));
  return failed ? 1 : 0;
}

/** `error: x` → `error: SOURCE: x` on every line, so each failure says which document it is about. */
const prefixed = (source: string, text: string): string =>
  text.replace(/^error: /gm, `error: ${source}: `);

export async function runDelete(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const files = (args.values.filename as string[] | undefined) ?? [];
  const dryRun = dryRunOf(args.values['dry-run'], 'delete');
  const targets: Array<{
    kind: string;
    qualified: (n: string) => string;
    namespace?: string;
    name: string;
    source: string;
  }> = [];
  if (files.length > 0) {
    if (args.positionals.length > 0)
      throw new UsageError('delete: give either -f FILE or TYPE NAME…, not both', 'delete');
    for (const file of files) {
      for (const m of await readManifests(ctx.io, file)) {
        const namespace = namespaceFor(m, ctx.globals.namespace, () => ctx.namespace());
        targets.push({
          kind: m.info.kind,
          qualified: (n) => qualifiedName(m.info, n),
          ...(namespace !== undefined ? { namespace } : {}),
          name: m.object.metadata.name,
          source: m.source,
        });
      }
    }
  } else {
    const [word, ...names] = args.positionals;
    if (word === undefined)
      throw new UsageError('delete: missing TYPE NAME… (or -f FILE)', 'delete');
    const info = kindOfWord(word, 'delete');
    if (names.length === 0)
      throw new UsageError(`delete: missing NAME of the ${word} to delete`, 'delete');
    const namespace = info.namespaced ? ctx.namespace() : undefined;
    for (const name of names) {
      targets.push({
        kind: info.kind,
        qualified: (n) => qualifiedName(info, n),
        ...(namespace !== undefined ? { namespace } : {}),
        name,
        source: name,
      });
    }
  }
  return deleteAll(ctx, targets, dryRun);
}

async function deleteAll(
  ctx: CommandContext,
  targets: Array<{
    kind: string;
    qualified: (n: string) => string;
    namespace?: string;
    name: string;
  }>,
  dryRun: DryRun,
): Promise<number> {
  let failed = false;
  for (const t of targets) {
    try {
      const ref = {
        ...(t.namespace !== undefined ? { namespace: t.namespace } : {}),
        name: t.name,
      };
      // A client dry run reads each object, as kubectl does, so a missing one still fails.
      if (dryRun === 'client') await ctx.client().get(t.kind, ref);
      else await ctx.client().delete(t.kind, ref, { dryRun: dryRun === 'server' });
      const [kindPart, name] = t.qualified(t.name).split('/');
      ctx.io.stdout.write(`${kindPart} "${name}" deleted${dryRunSuffix(dryRun)}\n`);
    } catch (e) {
      failed = true;
      ctx.io.stderr.write(formatError(e));
    }
  }
  return failed ? 1 : 0;
}

const VALIDATE = { strict: 'Strict', warn: 'Warn', ignore: 'Ignore' } as const;

/** kubectl's --validate words; true and false are its older spellings of strict and ignore. */
function fieldValidationOf(value: unknown): (typeof VALIDATE)[keyof typeof VALIDATE] {
  const word =
    value === undefined || value === 'true' ? 'strict' : value === 'false' ? 'ignore' : value;
  if (typeof word === 'string' && word in VALIDATE) return VALIDATE[word as keyof typeof VALIDATE];
  throw new UsageError(
    `create: --validate must be strict, warn or ignore, not ${JSON.stringify(value)}`,
    'create',
  );
}
