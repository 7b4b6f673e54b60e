// Maps the words users type (vm, vms, macs, nets, audit, …) to resource kinds, from the kinds table plus a few CLI aliases.
import { KINDS, type KindInfo } from '../resources/kinds.ts';
import { UsageError } from './errors.ts';

const EXTRA: Record<string, string> = {
  net: 'NetworkAttachmentDefinition',
  nets: 'NetworkAttachmentDefinition',
  nad: 'NetworkAttachmentDefinition',
  nads: 'NetworkAttachmentDefinition',
  mac: 'MacAllocation',
  audits: 'AuditRecord',
  event: 'Event',
  pod: 'Pod',
};

const WORDS: Map<string, KindInfo> = (() => {
  const m = new Map<string, KindInfo>();
  for (const info of KINDS) {
    for (const w of [info.kind.toLowerCase(), info.plural, info.singular, ...info.shortNames])
      m.set(w.toLowerCase(), info);
    if (info.group !== '') m.set(`${info.plural}.${info.group}`, info);
  }
  for (const [w, kind] of Object.entries(EXTRA)) {
    const info = KINDS.find((i) => i.kind === kind);
    if (info) m.set(w, info);
  }
  return m;
})();

/** The kind a CLI word names; a UsageError listing the common words otherwise. */
export function kindOfWord(word: string, command: string): KindInfo {
  const info = WORDS.get(word.toLowerCase());
  if (!info) {
    throw new UsageError(
      `${command}: unknown resource type ${JSON.stringify(word)} (try vm, vmi, pods, nets, macs, macpools, audit, events, namespaces, nodes)`,
      command,
    );
  }
  return info;
}

/** How kubectl names an object in messages: `virtualmachine.kubevirt.io/vm-a`. */
export const qualifiedName = (info: KindInfo, name: string): string =>
  `${info.singular}${info.group === '' ? '' : `.${info.group}`}/${name}`;
