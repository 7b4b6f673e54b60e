// KubeVirt's VirtualMachineClone (clone.kubevirt.io/v1beta1) as a TypeBox schema.
import { Type, type Static } from 'typebox';
import { dateTime, kept, listOf, oneOf, open, str, stringMap } from './builders.ts';
import { conditions, kindRoot } from './meta.ts';

/** KubeVirt's phases (SnapshotInProgress and RestoreInProgress have no counterpart: Harrow copies the spec directly). */
export type ClonePhase =
  | ''
  | 'SnapshotInProgress'
  | 'CreatingTargetVM'
  | 'RestoreInProgress'
  | 'Succeeded'
  | 'Failed'
  | 'Unknown';

export const TypedLocalObjectReferenceSchema = Type.Object(
  {
    apiGroup: str('API group.'),
    kind: Type.String({ description: 'Kind.' }),
    name: Type.String({ description: 'Name.' }),
  },
  { description: 'A VirtualMachine by kind and name.' },
);
const reference = (description: string) =>
  Type.Unsafe<Static<typeof TypedLocalObjectReferenceSchema>>(
    open(description, TypedLocalObjectReferenceSchema.properties),
  );

const filters = (of: string) =>
  listOf(`Which ${of} the clone keeps (globs; a leading ! leaves out).`, Type.String());

export const VirtualMachineCloneSchema = kindRoot(
  'VirtualMachineClone',
  'VirtualMachineClone (clone.kubevirt.io) clones a VirtualMachine; clones get new MACs.',
  {
    spec: open('What to clone.', {
      source: reference('The VM to clone.'),
      target: Type.Optional(reference('The VM to create.')),
      newMacAddresses: Type.Optional(
        stringMap('MACs for the clone, by interface name (otherwise new ones are allocated).'),
      ),
      newSMBiosSerial: str('SMBIOS serial of the clone.'),
      labelFilters: filters('labels'),
      annotationFilters: filters('annotations'),
      template: kept("Filters for the template's labels and annotations.", {
        labelFilters: filters('template labels'),
        annotationFilters: filters('template annotations'),
      }),
    }),
    status: kept('Observed state of the object.', {
      phase: Type.Optional(
        oneOf<ClonePhase>('SnapshotInProgress, CreatingTargetVM, Succeeded, Failed, …'),
      ),
      targetName: str('The VM created.'),
      creationTime: dateTime('When the clone was made.'),
      conditions: conditions('clone'),
    }),
  },
);
