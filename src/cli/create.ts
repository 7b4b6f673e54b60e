// `harrow create -f FILE` and `harrow delete`: objects from manifests (YAML/JSON, several documents, stdin), or by name.
import type { KubeObject } from '../resources/meta.ts';
import type { Command } from './command.ts';
import { type CommandContext } from './context.ts';
import { UsageError, formatError } from './errors.ts';
import { kindOfWord, qualifiedName } from './kind-words.ts';
import { namespaceFor, readManifests } from './manifests.ts';
import { asList, printData } from './output.ts';

export const createCommand: Command = {
  name: 'create',
  summary: 'Create objects from a YAML or JSON file (-f FILE, - for stdin)',
  usage: `Usage: harrow create -f FILE [-n NS] [--dry-run] [--validate strict|warn|ignore] [-o json|yaml]

Creates every object in FILE (YAML or JSON; several documents separated by ---; a List's items; - reads stdin).
A manifest that runs on KubeVirt runs here unchanged. Objects without a namespace go to -n (default: default).
Each object is created on its own: one failure does not stop the others, but the exit code is then 1.
--validate (default strict, as kubectl): a field the kind's schema does not know (a typo such as macAdress) is
refused naming its path; warn creates the object without it and prints a warning; ignore drops it silently.`,
  options: {
    filename: { type: 'string', short: 'f', multiple: true },
    'dry-run': { type: 'boolean' },
    validate: { type: 'string' },
  },
  async run(ctx, args) {
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
            prefixed(
              `${m.source} (${m.info.kind} ${m.object.metadata.name ?? ''})`,
              formatError(e),
            ),
          );
        }
      }
    }
    if (ctx.globals.output !== 'table')
      printData(ctx.io, ctx.globals.output, created.length === 1 ? created[0] : asList(created));
    return failed ? 1 : 0;
  },
};

/** `error: x` → `error: SOURCE: x` on every line, so each failure says which document it is about. */
const prefixed = (source: string, text: string): string =>
  text.replace(/^error: /gm, `error: ${source}: `);

export const deleteCommand: Command = {
  name: 'delete',
  summary: 'Delete objects by type and name, or those in a file (-f)',
  usage: `Usage: harrow delete TYPE NAME… [-n NS] [--dry-run]
       harrow delete -f FILE [-n NS] [--dry-run]

Deletes the named objects (e.g. harrow delete vm vm-a). A VM's MACs are released into quarantine, not reused at once.`,
  options: {
    filename: { type: 'string', short: 'f', multiple: true },
    'dry-run': { type: 'boolean' },
  },
  async run(ctx, args) {
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
  },
};

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
