// `harrow create -f FILE` and `harrow delete`: objects from manifests (YAML/JSON, several documents, stdin), or by name.
import type { KubeObject } from '../resources/meta.ts';
import { type CommandContext } from './context.ts';
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
  const dryRun = args.values['dry-run'] === true;
  const fieldValidation = fieldValidationOf(args.values.validate);
  const client = ctx.client();
  const created: KubeObject[] = [];
  let failed = false;
  for (const file of files) {
    for (const m of await readManifests(ctx.io, file)) {
      try {
        const namespace = namespaceFor(m, ctx.globals.namespace, () => ctx.namespace());
        const obj = await client.create(
          m.info.kind,
          namespace !== undefined ? { namespace } : {},
          m.object,
          { dryRun, fieldValidation },
        );
        created.push(obj);
        if (ctx.globals.output === 'table') {
          ctx.io.stdout.write(
            `${qualifiedName(m.info, obj.metadata?.name ?? m.object.metadata.name)} created${dryRun ? ' (dry run)' : ''}\n`,
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
  const dryRun = args.values['dry-run'] === true;
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
  dryRun: boolean,
): Promise<number> {
  let failed = false;
  for (const t of targets) {
    try {
      await ctx
        .client()
        .delete(
          t.kind,
          { ...(t.namespace !== undefined ? { namespace: t.namespace } : {}), name: t.name },
          { dryRun },
        );
      const [kindPart, name] = t.qualified(t.name).split('/');
      ctx.io.stdout.write(`${kindPart} "${name}" deleted${dryRun ? ' (dry run)' : ''}\n`);
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
