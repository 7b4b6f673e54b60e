// The core v1 kinds Harrow serves (Pod, Namespace, Node, Event) as TypeBox schemas: what Harrow reads of them typed, the rest kept.
import { Type } from 'typebox';
import { dateTime, defaulted, int, kept, listOf, oneOf, open, str, stringMap } from './builders.ts';
import { conditions, kindRoot } from './meta.ts';

export const PodSchema = kindRoot('Pod', 'Pod (v1): the launcher pod of a VM instance.', {
  spec: defaulted(
    open('Specification of the object.', {
      nodeName: str('The node the pod runs on.'),
      containers: defaulted(
        Type.Array(
          open('A container.', {
            name: Type.String({ description: 'Name of the container.' }),
            image: Type.String({ description: 'Its image.' }),
          }),
          { description: 'The containers of the pod.' },
        ),
      ),
    }),
  ),
  status: kept('Observed state of the object.', {
    phase: str('Pending, Running, Succeeded, Failed or Unknown.'),
    podIP: str('The pod IP.'),
    conditions: conditions('pod'),
  }),
});

export const NamespaceSchema = kindRoot('Namespace', 'Namespace (v1) scopes names.', {
  spec: kept('Specification of the object.'),
  status: kept('Observed state of the object.', { phase: str('Active or Terminating.') }),
});

export const NodeSchema = kindRoot('Node', 'Node (v1): a host that runs VM instances.', {
  spec: kept('Specification of the object.', {
    unschedulable: Type.Optional(
      Type.Boolean({ description: 'Whether new VM instances may be placed on the node.' }),
    ),
  }),
  status: kept('Observed state of the object.', {
    capacity: Type.Optional(
      stringMap('cpu (cores), memory (e.g. 4096Mi), harrow.io/vms (most VMs at once).'),
    ),
    conditions: conditions('node (Ready)'),
    addresses: listOf(
      'Where the node is reached; InternalIP is the VXLAN underlay.',
      open('An address.', {
        type: Type.String({ description: 'InternalIP, Hostname, …' }),
        address: Type.String({ description: 'The address.' }),
      }),
    ),
  }),
});

export const EventSchema = kindRoot('Event', 'Event (v1): something that happened to an object.', {
  involvedObject: defaulted(
    open('The object the event is about.', {
      kind: defaulted(Type.String({ description: 'Kind.' })),
      namespace: str('Namespace.'),
      name: defaulted(Type.String({ description: 'Name.' })),
      uid: str('UID.'),
      apiVersion: str('API version.'),
    }),
  ),
  reason: defaulted(Type.String({ description: 'A CamelCase reason.' })),
  message: defaulted(Type.String({ description: 'What happened.' })),
  type: defaulted(oneOf<'Normal' | 'Warning'>('Normal or Warning.')),
  count: int('How many times it happened.'),
  firstTimestamp: dateTime('First time.'),
  lastTimestamp: dateTime('Last time.'),
  eventTime: dateTime('When it happened (micro-time).'),
  source: kept('Who reported it.', {
    component: defaulted(Type.String({ description: 'Component.' })),
    host: str('Host.'),
  }),
  reportingComponent: str('Reporting component.'),
  reportingInstance: str('Reporting instance.'),
  reportingController: str('Reporting controller (events.k8s.io name of reportingComponent).'),
  action: str('Action taken.'),
  series: kept('Series of repeated events.'),
  related: kept('A second object.'),
});
