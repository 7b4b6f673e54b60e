// KubeVirt's VirtualMachineClone (clone.kubevirt.io/v1beta1): its validation, and the pure rule that turns a source VM into the clone's VM.
import { MacError, validateMac } from '../mac/mac.ts';
import {
  Invalid,
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  type StatusCause,
} from './errors.ts';
import type { Static } from 'typebox';
import type { KubeObject } from './meta.ts';
import { TypedLocalObjectReferenceSchema, VirtualMachineCloneSchema } from './schema/clone.ts';
import { validateDns1123Label } from './names.ts';
import {
  ANNOTATION_NETWORKS,
  ANNOTATION_NETWORK_STATUS,
  ANNOTATION_STATIC_IP_PREFIX,
  type VirtualMachine,
} from './types.ts';
import { interfacesOf, templateSpecOf } from './virtualmachine.ts';

export type { ClonePhase } from './schema/clone.ts';
export type TypedLocalObjectReference = Static<typeof TypedLocalObjectReferenceSchema>;
export type VirtualMachineClone = Static<typeof VirtualMachineCloneSchema>;

/**
 * Annotations that remember a MAC: a clone that kept one would carry the source's identity (harvester#9798). Harvester's
 * observed-MAC annotation, the Multus request and status (pod-level, but a template may hold them), Harrow's own.
 */
export const MAC_REMEMBERING_ANNOTATIONS: readonly string[] = [
  'harvesterhci.io/mac-address',
  ANNOTATION_NETWORKS,
  ANNOTATION_NETWORK_STATUS,
  'harrow.io/previous-macs',
  'harrow.io/pod-network',
];

/** Target VM annotation: the uid of the VirtualMachineClone that created it (lets the controller finish after a crash). */
export const ANNOTATION_CLONED_BY = 'harrow.io/cloned-by';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function filterCauses(value: unknown, field: string): StatusCause[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    return [fieldInvalid(field, 'must be a list of key patterns, e.g. ["*", "!some/key*"]')];
  return value.flatMap((f, i) =>
    typeof f === 'string' && f.replace(/^!/, '') !== ''
      ? []
      : [fieldInvalid(`${field}[${i}]`, 'must be a non-empty key pattern')],
  );
}

/**
 * Validates a clone and normalises its MACs to the colon form (mutates `clone`). The source need not exist yet: the
 * controller waits for it, as KubeVirt's does.
 */
export function validateVirtualMachineClone(clone: VirtualMachineClone): void {
  const causes: StatusCause[] = [];
  const spec = clone.spec as unknown;
  if (!isObject(spec)) throw cloneInvalid(clone, [fieldRequired('spec', 'spec is required')]);
  const c = clone.spec;
  if (!isObject(c.source))
    causes.push(
      fieldRequired(
        'spec.source',
        'the VM to clone is required: {apiGroup: kubevirt.io, kind: VirtualMachine, name}',
      ),
    );
  else {
    if (c.source.kind !== 'VirtualMachine') {
      causes.push(
        fieldNotSupported(
          'spec.source.kind',
          `${JSON.stringify(c.source.kind)}: Harrow clones from a VirtualMachine (VirtualMachineSnapshot sources are not supported)`,
        ),
      );
    }
    if (c.source.apiGroup !== undefined && c.source.apiGroup !== 'kubevirt.io')
      causes.push(fieldNotSupported('spec.source.apiGroup', 'must be kubevirt.io'));
    causes.push(...validateDns1123Label(c.source.name, 'spec.source.name'));
  }
  if (c.target !== undefined) {
    if (!isObject(c.target))
      causes.push(fieldInvalid('spec.target', 'must be an object {apiGroup, kind, name}'));
    else {
      if (c.target.kind !== 'VirtualMachine')
        causes.push(
          fieldNotSupported('spec.target.kind', 'the target of a clone is a VirtualMachine'),
        );
      if (c.target.apiGroup !== undefined && c.target.apiGroup !== 'kubevirt.io')
        causes.push(fieldNotSupported('spec.target.apiGroup', 'must be kubevirt.io'));
      if (c.target.name !== undefined && c.target.name !== '') {
        causes.push(...validateDns1123Label(c.target.name, 'spec.target.name'));
        if (isObject(c.source) && c.target.name === c.source.name)
          causes.push(fieldInvalid('spec.target.name', 'the target must differ from the source'));
      }
    }
  }
  if (c.newMacAddresses !== undefined) {
    if (!isObject(c.newMacAddresses))
      causes.push(fieldInvalid('spec.newMacAddresses', 'must be a map of interface name to MAC'));
    else {
      const seen = new Map<string, string>();
      // A fresh object without a prototype: keys like "constructor" are interface names here, nothing more.
      const macs: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [iface, raw] of Object.entries(c.newMacAddresses)) {
        const field = `spec.newMacAddresses[${JSON.stringify(iface)}]`;
        if (typeof raw !== 'string') {
          causes.push(fieldInvalid(field, 'must be a MAC address string'));
          continue;
        }
        try {
          const mac = validateMac(raw);
          macs[iface] = mac;
          const other = seen.get(mac);
          if (other !== undefined)
            causes.push(
              fieldDuplicate(
                field,
                `MAC ${mac} is also given to interface ${JSON.stringify(other)}`,
              ),
            );
          else seen.set(mac, iface);
        } catch (e) {
          if (!(e instanceof MacError)) throw e;
          causes.push(fieldInvalid(field, e.message));
        }
      }
      c.newMacAddresses = { ...macs };
    }
  }
  causes.push(
    ...filterCauses(c.labelFilters, 'spec.labelFilters'),
    ...filterCauses(c.annotationFilters, 'spec.annotationFilters'),
  );
  if (c.template !== undefined) {
    if (!isObject(c.template))
      causes.push(
        fieldInvalid('spec.template', 'must be an object {labelFilters, annotationFilters}'),
      );
    else
      causes.push(
        ...filterCauses(c.template.labelFilters, 'spec.template.labelFilters'),
        ...filterCauses(c.template.annotationFilters, 'spec.template.annotationFilters'),
      );
  }
  if (c.newSMBiosSerial !== undefined && typeof c.newSMBiosSerial !== 'string')
    causes.push(fieldInvalid('spec.newSMBiosSerial', 'must be a string'));
  if (causes.length > 0) throw cloneInvalid(clone, causes);
}

export function cloneInvalid(clone: KubeObject, causes: StatusCause[]): Invalid {
  const name = clone.metadata?.name ?? '';
  return new Invalid(
    `VirtualMachineClone.clone.kubevirt.io "${name}" is invalid: ${causes.map((x) => `${x.field}: ${x.message}`).join(', ')}`,
    causes,
    {
      name,
      group: 'clone.kubevirt.io',
      kind: 'VirtualMachineClone',
    },
  );
}

/**
 * Whether `key` matches a KubeVirt filter pattern (`*` matches any run of characters). A two-pointer walk, not a regular
 * expression: a user's pattern like `*a*a*a*…` must not make the controller backtrack for ever.
 */
function matches(key: string, pattern: string): boolean {
  let k = 0;
  let p = 0;
  let star = -1;
  let mark = 0;
  while (k < key.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === key[k]) {
      k++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = k;
    } else if (star >= 0) {
      p = star + 1;
      k = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** KubeVirt's filter rule: no filters copies every key; otherwise the last pattern that matches decides (`!` excludes). */
export function keepKey(key: string, filters: readonly string[] | undefined): boolean {
  if (filters === undefined) return true;
  let keep = false;
  for (const f of filters) {
    const negated = f.startsWith('!');
    if (matches(key, negated ? f.slice(1) : f)) keep = !negated;
  }
  return keep;
}

function filtered(
  map: Record<string, string> | undefined,
  filters: readonly string[] | undefined,
  drop: readonly string[],
): Record<string, string> | undefined {
  if (map === undefined) return undefined;
  const out = Object.fromEntries(
    Object.entries(map).filter(([k]) => !drop.includes(k) && keepKey(k, filters)),
  );
  return Object.keys(out).length > 0 ? out : undefined;
}

export interface ClonePlan {
  vm: VirtualMachine;
  /** Interfaces whose MAC the clone gets from newMacAddresses; every other interface gets one from the pool. */
  givenMacs: Record<string, string>;
  /** What was left behind on purpose (for the audit record): `field: value`. */
  dropped: string[];
}

/**
 * The clone's VM: the source's spec (its runStrategy too, as KubeVirt's clones keep it) with every MAC blanked unless
 * newMacAddresses gives one, no annotation that remembers a MAC, no status, no firmware identity. Pure.
 */
export function cloneVirtualMachine(
  source: VirtualMachine,
  clone: VirtualMachineClone,
  targetName: string,
): ClonePlan {
  const spec = structuredClone(source.spec);
  const dropped: string[] = [];
  const given: Record<string, string> = {};
  const newMacs = clone.spec.newMacAddresses ?? {};
  const tspec = templateSpecOf({ ...source, spec } as VirtualMachine);
  interfacesOf(tspec).forEach((iface, i) => {
    if (iface.macAddress !== undefined)
      dropped.push(
        `spec.template.spec.domain.devices.interfaces[${i}].macAddress: ${iface.macAddress}`,
      );
    delete iface.macAddress;
    const mac = Object.hasOwn(newMacs, iface.name) ? newMacs[iface.name] : undefined;
    if (typeof mac === 'string') {
      iface.macAddress = mac;
      given[iface.name] = mac;
    }
  });
  const firmware = tspec?.domain?.firmware as Record<string, unknown> | undefined;
  if (firmware) {
    // The firmware UUID and serial identify a machine to its guest as the MAC does to the network.
    delete firmware.uuid;
    if (clone.spec.newSMBiosSerial !== undefined) firmware.serial = clone.spec.newSMBiosSerial;
    else delete firmware.serial;
  }
  // A fixed address is the source's (Harvester's static-ip annotations): the clone would only get a 409 for it.
  const fixedAddresses = [
    ...Object.keys(source.metadata.annotations ?? {}),
    ...Object.keys(spec.template.metadata?.annotations ?? {}),
  ].filter((key) => key.startsWith(ANNOTATION_STATIC_IP_PREFIX));
  const drop = [...MAC_REMEMBERING_ANNOTATIONS, ANNOTATION_CLONED_BY, ...new Set(fixedAddresses)];
  for (const key of drop) {
    if (source.metadata.annotations?.[key] !== undefined)
      dropped.push(`metadata.annotations[${JSON.stringify(key)}]`);
    if (spec.template.metadata?.annotations?.[key] !== undefined)
      dropped.push(`spec.template.metadata.annotations[${JSON.stringify(key)}]`);
  }
  if (spec.template.metadata) {
    const labels = filtered(spec.template.metadata.labels, clone.spec.template?.labelFilters, []);
    const annotations = filtered(
      spec.template.metadata.annotations,
      clone.spec.template?.annotationFilters,
      drop,
    );
    spec.template.metadata = { ...spec.template.metadata, labels, annotations };
    if (labels === undefined) delete spec.template.metadata.labels;
    if (annotations === undefined) delete spec.template.metadata.annotations;
  }
  dropped.push(...ownDisks(spec, targetName, source.metadata.namespace ?? 'default'));
  const labels = filtered(source.metadata.labels, clone.spec.labelFilters, []);
  const annotations = {
    ...(filtered(source.metadata.annotations, clone.spec.annotationFilters, drop) ?? {}),
    [ANNOTATION_CLONED_BY]: clone.metadata.uid ?? '',
  };
  const vm: VirtualMachine = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name: targetName,
      namespace: source.metadata.namespace ?? 'default',
      ...(labels ? { labels } : {}),
      annotations,
    },
    spec,
  };
  return { vm, givenMacs: given, dropped };
}

/** A clone's DataVolume: `<target>-<source DataVolume>` (within a label's 63 characters). */
export function cloneDataVolumeName(targetName: string, sourceName: string): string {
  const name = `${targetName}-${sourceName}`;
  return name.length <= 63 ? name : name.slice(0, 63).replace(/-+$/, '');
}

/**
 * Every persistent disk of the clone is its own copy (KubeVirt's clone restores each volume to a new claim): each
 * dataVolume / persistentVolumeClaim volume becomes a dataVolumeTemplate named for the target whose source is the
 * source VM's claim (CDI's pvc clone source). Mutates `spec`; returns what was replaced, for the audit record.
 */
function ownDisks(spec: VirtualMachine['spec'], targetName: string, namespace: string): string[] {
  const replaced: string[] = [];
  const templates = new Map((spec.dataVolumeTemplates ?? []).map((t) => [t.metadata.name, t]));
  const copies: NonNullable<VirtualMachine['spec']['dataVolumeTemplates']> = [];
  for (const volume of spec.template.spec.volumes ?? []) {
    const claim = volume.dataVolume?.name ?? volume.persistentVolumeClaim?.claimName;
    if (!claim) continue;
    const name = cloneDataVolumeName(targetName, claim);
    const template = templates.get(claim);
    copies.push({
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: {
        name,
        ...(template?.metadata.labels ? { labels: { ...template.metadata.labels } } : {}),
      },
      spec: {
        source: { pvc: { namespace, name: claim } },
        storage: template ? structuredClone(template.spec.storage ?? template.spec.pvc ?? {}) : {},
      },
    });
    replaced.push(`volume ${volume.name}: claim ${claim} (the clone gets its own copy, ${name})`);
    delete volume.persistentVolumeClaim;
    volume.dataVolume = { name };
  }
  if (copies.length > 0 || spec.dataVolumeTemplates !== undefined)
    spec.dataVolumeTemplates = copies;
  return replaced;
}
