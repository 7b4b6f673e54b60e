// `harrow export vm NAME`: the VM as a manifest KubeVirt (and Harrow) accept — what the user wrote, without what the server set.
import { stringify } from 'yaml';
import type { KubeObject } from '../resources/meta.ts';
import type { VirtualMachine } from '../resources/types.ts';
import { UsageError } from './errors.ts';
import { kindOfWord } from './kind-words.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

/**
 * Annotations that are the server's or a client's bookkeeping about this one object, not the user's intent: kubectl's
 * last applied state (it would make a later apply diff against the source), KubeVirt's observed API versions, and a
 * restart Harrow planned for this VM.
 */
const SERVER_ANNOTATIONS: readonly string[] = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'kubevirt.io/latest-observed-api-version',
  'kubevirt.io/storage-observed-api-version',
  'harrow.io/restart-scheduled-at',
];

export interface ExportOptions {
  /** Drop every interface's macAddress, so the copy gets new MACs (as a clone does) instead of the source's. */
  withoutMacs?: boolean;
  /** Drop metadata.namespace, so the manifest goes wherever `-n` says. */
  withoutNamespace?: boolean;
}

/**
 * The manifest of `object`: apiVersion, kind, metadata (name, namespace, labels, annotations the user set) and the
 * spec with every field, including fields Harrow does not know. The status and server-set metadata (uid,
 * resourceVersion, generation, creationTimestamp, managedFields, ownerReferences, finalizers) are left out.
 */
export function exportManifest(object: KubeObject, options: ExportOptions = {}): KubeObject {
  const meta = object.metadata;
  const annotations = Object.fromEntries(
    Object.entries(meta.annotations ?? {}).filter(([k]) => !SERVER_ANNOTATIONS.includes(k)),
  );
  const manifest: KubeObject = {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: {
      name: meta.name,
      ...(meta.namespace !== undefined && !options.withoutNamespace
        ? { namespace: meta.namespace }
        : {}),
      ...(meta.labels && Object.keys(meta.labels).length > 0 ? { labels: { ...meta.labels } } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
  };
  // Top-level fields besides metadata and status (spec, and a kind's own such as a NAD's or an Event's) go as they are.
  for (const [key, value] of Object.entries(object)) {
    if (!['apiVersion', 'kind', 'metadata', 'status'].includes(key))
      manifest[key] = structuredClone(value);
  }
  if (options.withoutMacs && object.kind === 'VirtualMachine') {
    for (const iface of (manifest as VirtualMachine).spec.template?.spec?.domain?.devices
      ?.interfaces ?? [])
      delete iface.macAddress;
  }
  return manifest;
}

export async function runExport(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [word, name] = args.positionals;
  const info = kindOfWord(word!, 'export');
  if (!info.verbs.includes('create'))
    throw new UsageError(
      `export: ${info.plural} are written by Harrow, not by manifests`,
      'export',
    );
  if (ctx.globals.allNamespaces)
    throw new UsageError('export: a NAME needs one namespace, not -A', 'export');
  const object = await ctx
    .client()
    .get(info.kind, { ...(info.namespaced ? { namespace: ctx.namespace() } : {}), name: name! });
  const manifest = exportManifest(object, {
    withoutMacs: args.values['without-macs'] === true,
    withoutNamespace: args.values['without-namespace'] === true,
  });
  ctx.io.stdout.write(
    ctx.globals.output === 'json'
      ? `${JSON.stringify(manifest, null, 2)}\n`
      : stringify(manifest, { lineWidth: 0 }),
  );
  return 0;
}
