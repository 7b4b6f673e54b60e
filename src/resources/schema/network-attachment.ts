// Multus' NetworkAttachmentDefinition (k8s.cni.cncf.io/v1) as a TypeBox schema.
import { defaulted, open, str } from './builders.ts';
import { kindRoot } from './meta.ts';

/** spec.config is the CNI JSON; Harrow reads type "bridge" with optional vlan and an ipam range (nad.ts). */
export const NetworkAttachmentDefinitionSchema = kindRoot(
  'NetworkAttachmentDefinition',
  'NetworkAttachmentDefinition (k8s.cni.cncf.io/v1) describes a Multus network by its CNI configuration.',
  {
    spec: defaulted(
      open('The network.', {
        config: str(
          'The CNI configuration as JSON (Harrow reads type "bridge", vlan and the ipam range).',
        ),
      }),
    ),
  },
);
