// The hostile-input corpus: requests a server must refuse with a 4xx Status naming the problem, and change nothing.
import type { VirtualMachine } from '../../src/resources/types.ts';

export interface HostileInput {
  /** What is hostile about it (the test's message). */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Sent as is (no normalisation of `..` or percent-escapes). */
  path: string;
  contentType?: string;
  body?: string;
  /** Replaces the admin token's Authorization header. */
  authorization?: string;
  /** Expected HTTP codes (all 4xx). */
  codes: number[];
  /** Must appear in the Status message or in one of its causes. */
  mentions: RegExp;
  /** Must be the field of one of the Status causes. */
  field?: string;
}

export interface CorpusTarget {
  namespace: string;
  /** A stored VM with an explicit MAC on a multus network (bridge binding), named `target`. */
  vm: VirtualMachine;
  /** A stored VM on the pod network with the masquerade binding. */
  masqueradeVm: VirtualMachine;
  /** A MAC held by another VM. */
  takenMac: string;
}

const IFACES = 'spec.template.spec.domain.devices.interfaces';
const MAC0 = `${IFACES}[0].macAddress`;

// Malformed in every notation: wrong lengths, non-hex, unicode digits, whitespace, mixed separators, and plain junk.
export const MALFORMED_MACS: readonly string[] = [
  // colon
  '52:54:00:ab:cd',
  '52:54:00:ab:cd:ef:01',
  '52:54:00:ab:cd:ef:01:02',
  '52:54:00:ab:cd:eg',
  '52:54:00:ab:cd:e',
  '52:54:00:ab:cd:eff',
  '2:54:0:ab:cd:ef',
  ':52:54:00:ab:cd:ef',
  '52:54:00:ab:cd:ef:',
  '52::54:00:ab:cd:ef',
  'zz:zz:zz:zz:zz:zz',
  // dash
  '52-54-00-ab-cd',
  '52-54-00-ab-cd-zz',
  '52-54-00-ab-cd-ef-00',
  '52-54-00-ab-cd-e',
  '-52-54-00-ab-cd-ef',
  // dot
  '5254.00ab.cde',
  '5254.00ab.cdef.0000',
  '525.400ab.cdef',
  '5254.00ab.cdeg',
  '52.54.00.ab.cd.ef',
  '5254..00ab.cdef',
  // bare hex digits: Go's net.ParseMAC (KubeVirt's parser) refuses them, so Harrow does too
  '525400abcdef',
  'ffffffffffff',
  '020000000000',
  '525400abcde',
  '525400abcdef0',
  '525400abcdeg',
  '0x525400abcdef',
  '52540',
  'f'.repeat(24),
  // unicode digits and look-alikes
  '５２:54:00:ab:cd:ef',
  '٥٢:54:00:ab:cd:ef',
  '52:54:00:ab:cd:ｅｆ',
  '𝟓𝟐:54:00:ab:cd:ef',
  '52\u200b:54:00:ab:cd:ef',
  '52:54:00:ab:cd:e\u0301f',
  '52∶54∶00∶ab∶cd∶ef',
  // whitespace
  ' 52:54:00:ab:cd:ef',
  '52:54:00:ab:cd:ef ',
  '52:54:00:ab:cd:ef\n',
  '52:54:00:\tab:cd:ef',
  '52:54:00:ab:cd:e\u00a0',
  '52 54 00 ab cd ef',
  // mixed separators
  '52:54-00:ab:cd:ef',
  '52:54:00.ab:cd:ef',
  '5254.00ab-cdef',
  '52-54:00-ab:cd-ef',
  '5254:00ab:cdef',
  // junk
  '52_54_00_ab_cd_ef',
  '52/54/00/ab/cd/ef',
  '52:54:00:ab:cd:e\u0000',
  '../../etc/passwd',
  '$(reboot)',
  '52:54:00:ab:cd:ef; rm -rf /',
  'a'.repeat(100_000),
];

/** KubeVirt's causes for a MAC its parser refuses (or reads as more than 6 octets). */
const MALFORMED = /has malformed MAC address|that is too long/;

// Well-formed but no NIC's address: broadcast, multicast, all-zero.
export const NON_UNICAST_MACS: ReadonlyArray<{ mac: string; mentions: RegExp }> = [
  { mac: 'ff:ff:ff:ff:ff:ff', mentions: /broadcast/ },
  { mac: 'FF-FF-FF-FF-FF-FF', mentions: /broadcast/ },
  { mac: 'ffff.ffff.ffff', mentions: /broadcast/ },
  { mac: '01:00:5e:00:00:01', mentions: /multicast/ },
  { mac: '33:33:00:00:00:01', mentions: /multicast/ },
  { mac: '03:00:00:00:00:00', mentions: /multicast/ },
  { mac: '01-80-c2-00-00-00', mentions: /multicast/ },
  { mac: '0100.5e7f.ffff', mentions: /multicast/ },
  { mac: '00:00:00:00:00:00', mentions: /all-zero/ },
  { mac: '0000.0000.0000', mentions: /all-zero/ },
  { mac: '00-00-00-00-00-00', mentions: /all-zero/ },
];

const MASQUERADE_BRIDGE = ['02:00:00:00:00:00', '02-00-00-00-00-00', '0200.0000.0000'];

// Names that are no DNS-1123 label.
export const HOSTILE_NAMES: readonly string[] = [
  'a/b',
  '../etc',
  '..',
  '.',
  'a..b',
  'a.b',
  'a;rm -rf /',
  '$(id)',
  '`id`',
  'a|b',
  'a&&b',
  'a>b',
  "a'b",
  'a"b',
  'a\\b',
  'a b',
  'a\nb',
  'a\u0000b',
  '%2e%2e',
  'ünïcode',
  '名字',
  'vm-😀',
  'UPPER',
  '-lead',
  'trail-',
  'a'.repeat(64),
  'a'.repeat(254),
  'a'.repeat(10_000),
  '*',
  '~root',
];

const json = (v: unknown): string => JSON.stringify(v);

/** The VM manifest `base` with `edit` applied to a deep copy. */
function vmWith(
  base: VirtualMachine,
  name: string,
  edit: (vm: Record<string, unknown> & VirtualMachine) => void,
): string {
  const vm = structuredClone(base) as Record<string, unknown> & VirtualMachine;
  vm.metadata = { name, namespace: base.metadata.namespace };
  delete (vm as { status?: unknown }).status;
  edit(vm);
  return json(vm);
}

function nested(depth: number, leaf: string, open = '{"a":', close = '}'): string {
  return open.repeat(depth) + leaf + close.repeat(depth);
}

export function hostileCorpus(t: CorpusTarget): HostileInput[] {
  const ns = t.namespace;
  const vms = `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`;
  const target = `${vms}/${t.vm.metadata.name}`;
  const masq = `${vms}/${t.masqueradeVm.metadata.name}`;
  const rv = t.vm.metadata.resourceVersion!;
  const out: HostileInput[] = [];
  const add = (i: HostileInput): void => {
    out.push(i);
  };
  const create = (
    name: string,
    body: string,
    codes: number[],
    mentions: RegExp,
    field?: string,
    contentType = 'application/json',
  ): void =>
    add({
      name,
      method: 'POST',
      path: vms,
      contentType,
      body,
      codes,
      mentions,
      ...(field ? { field } : {}),
    });
  const merge = (
    name: string,
    patch: unknown,
    codes: number[],
    mentions: RegExp,
    field?: string,
    path = target,
  ): void =>
    add({
      name,
      method: 'PATCH',
      path,
      contentType: 'application/merge-patch+json',
      body: json(patch),
      codes,
      mentions,
      ...(field ? { field } : {}),
    });
  const jsonPatch = (
    name: string,
    ops: unknown,
    codes: number[],
    mentions: RegExp,
    field?: string,
  ): void =>
    add({
      name,
      method: 'PATCH',
      path: target,
      contentType: 'application/json-patch+json',
      body: typeof ops === 'string' ? ops : json(ops),
      codes,
      mentions,
      ...(field ? { field } : {}),
    });
  const setMac = (mac: unknown): unknown => ({
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: 'default', bridge: {}, macAddress: mac }] } },
        },
      },
    },
  });

  // ---- MACs: each on a new VM and as a patch of the stored one ----
  MALFORMED_MACS.forEach((mac, i) => {
    const label = JSON.stringify(mac.length > 30 ? `${mac.slice(0, 30)}…` : mac);
    create(
      `create with malformed MAC ${label}`,
      vmWith(t.vm, `bad-mac-${i}`, (vm) => {
        vm.spec.template!.spec!.domain.devices.interfaces![0]!.macAddress = mac;
      }),
      [422],
      MALFORMED,
      MAC0,
    );
    merge(`merge patch to malformed MAC ${label}`, setMac(mac), [422], MALFORMED, MAC0);
  });
  NON_UNICAST_MACS.forEach(({ mac, mentions }, i) => {
    create(
      `create with ${mac}`,
      vmWith(t.vm, `bad-class-${i}`, (vm) => {
        vm.spec.template!.spec!.domain.devices.interfaces![0]!.macAddress = mac;
      }),
      [422],
      mentions,
      MAC0,
    );
    jsonPatch(
      `json patch to ${mac}`,
      [
        {
          op: 'replace',
          path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
          value: mac,
        },
      ],
      [422],
      mentions,
      MAC0,
    );
  });
  MASQUERADE_BRIDGE.forEach((mac, i) => {
    create(
      `create masquerade VM with ${mac}`,
      vmWith(t.masqueradeVm, `bad-masq-${i}`, (vm) => {
        vm.spec.template!.spec!.domain.devices.interfaces![0]!.macAddress = mac;
      }),
      [422],
      /reserved for the in-pod bridge/,
      MAC0,
    );
    add({
      name: `json patch of masquerade VM to ${mac}`,
      method: 'PATCH',
      path: masq,
      contentType: 'application/json-patch+json',
      body: json([
        {
          op: 'add',
          path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
          value: mac,
        },
      ]),
      codes: [422],
      mentions: /reserved for the in-pod bridge/,
      field: MAC0,
    });
  });
  for (const [label, value] of [
    ['number', 0x525400abcdef],
    ['object', { mac: '52:54:00:ab:cd:ef' }],
    ['array', ['52:54:00:ab:cd:ef']],
    ['boolean', true],
    ['null', null],
  ] as const) {
    create(
      `macAddress as ${label}`,
      vmWith(t.vm, `mac-type-${label}`, (vm) => {
        (
          vm.spec.template!.spec!.domain.devices.interfaces![0] as unknown as Record<
            string,
            unknown
          >
        ).macAddress = value;
      }),
      [422],
      /must be a string/,
      MAC0,
    );
  }
  create(
    'the same MAC on two interfaces',
    vmWith(t.vm, 'dup-mac', (vm) => {
      const spec = vm.spec.template!.spec!;
      spec.domain.devices.interfaces = [
        { name: 'a', bridge: {}, macAddress: '02:48:52:77:00:01' },
        { name: 'b', bridge: {}, macAddress: '02-48-52-77-00-01' },
      ];
      spec.networks = [
        { name: 'a', multus: { networkName: 'lan' } },
        { name: 'b', multus: { networkName: 'lan' } },
      ];
    }),
    [422],
    /already used by interface "a"/,
    `${IFACES}[1].macAddress`,
  );
  create(
    'a MAC another VM holds',
    vmWith(t.vm, 'thief', (vm) => {
      vm.spec.template!.spec!.domain.devices.interfaces![0]!.macAddress = t.takenMac;
    }),
    [409],
    new RegExp(t.takenMac),
    MAC0,
  );

  // ---- wrong types at every field Harrow reads ----
  const wrong = (
    label: string,
    edit: (vm: Record<string, unknown> & VirtualMachine) => void,
    field: string,
    mentions: RegExp,
    codes = [422],
  ): void => create(label, vmWith(t.vm, `wrong-${out.length}`, edit), codes, mentions, field);
  type Loose = Record<string, unknown>;
  const tspec = (vm: VirtualMachine): Loose => vm.spec.template!.spec as unknown as Loose;
  const domain = (vm: VirtualMachine): Loose => tspec(vm).domain as Loose;
  const devices = (vm: VirtualMachine): Loose => domain(vm).devices as Loose;
  for (const v of [5, 'always', '', null, [], {}]) {
    wrong(
      `runStrategy ${json(v)}`,
      (vm) => ((vm.spec as unknown as Loose).runStrategy = v),
      'spec.runStrategy',
      /unsupported value/,
    );
  }
  wrong(
    'running "yes"',
    (vm) => {
      delete (vm.spec as unknown as Loose).runStrategy;
      (vm.spec as unknown as Loose).running = 'yes';
    },
    'spec.running',
    /must be a boolean/,
  );
  wrong(
    'running and runStrategy',
    (vm) => ((vm.spec as unknown as Loose).running = true),
    'spec.running',
    /mutually exclusive/,
  );
  for (const v of [[], 'spec', 5, null, true]) {
    wrong(`spec ${json(v)}`, (vm) => ((vm as Loose).spec = v), 'spec', /spec is required/);
  }
  for (const v of ['t', 5, [], null]) {
    wrong(
      `template ${json(v)}`,
      (vm) => ((vm.spec as unknown as Loose).template = v),
      'spec.template',
      /template spec/,
    );
  }
  wrong(
    'template.spec []',
    (vm) => ((vm.spec.template as unknown as Loose).spec = []),
    'spec.template.spec',
    /template spec/,
  );
  for (const v of ['d', 1, [], null])
    wrong(
      `domain ${json(v)}`,
      (vm) => (tspec(vm).domain = v),
      'spec.template.spec.domain',
      /domain is required/,
    );
  for (const v of ['d', 1, []])
    wrong(
      `devices ${json(v)}`,
      (vm) => (domain(vm).devices = v),
      'spec.template.spec.domain.devices',
      /devices is required/,
    );
  for (const v of ['eth0', 5, {}, true])
    wrong(`interfaces ${json(v)}`, (vm) => (devices(vm).interfaces = v), IFACES, /must be a list/);
  for (const v of [5, 'x', null, []])
    wrong(
      `interfaces [${json(v)}]`,
      (vm) => (devices(vm).interfaces = [v]),
      `${IFACES}[0]`,
      /must be an object/,
    );
  for (const v of ['lan', 5, {}, true])
    wrong(
      `networks ${json(v)}`,
      (vm) => (tspec(vm).networks = v),
      'spec.template.spec.networks',
      /must be a list/,
    );
  for (const v of [5, 'x', null])
    wrong(
      `networks [${json(v)}]`,
      (vm) => (tspec(vm).networks = [v]),
      'spec.template.spec.networks[0]',
      /must be an object/,
    );
  wrong(
    'network name as number',
    (vm) => ((tspec(vm).networks as Loose[])[0]!.name = 7),
    'spec.template.spec.networks[0].name',
    /must be a string/,
  );
  wrong(
    'interface name as object',
    (vm) => ((devices(vm).interfaces as Loose[])[0]!.name = {}),
    `${IFACES}[0].name`,
    /must be a string/,
  );
  wrong(
    'interface name "../x"',
    (vm) => ((devices(vm).interfaces as Loose[])[0]!.name = '../x'),
    `${IFACES}[0].name`,
    /can only contain alphabetical characters, numbers, dashes \(-\) or underscores/,
  );
  wrong(
    'interface with no network',
    (vm) => ((devices(vm).interfaces as Loose[])[0]!.name = 'nowhere'),
    `${IFACES}[0].name`,
    /interfaces\[0\]\.name 'nowhere' not found\./,
  );
  wrong(
    'multus.networkName ""',
    (vm) => ((tspec(vm).networks as Loose[])[0]!.multus = { networkName: '' }),
    'spec.template.spec.networks[0]',
    /CNI delegating plugin must have a networkName/,
  );
  for (const v of [5, 'a/b/c', '../lan', 'LAN', null]) {
    wrong(
      `multus.networkName ${json(v)}`,
      (vm) => ((tspec(vm).networks as Loose[])[0]!.multus = { networkName: v }),
      'spec.template.spec.networks[0].multus.networkName',
      /networkName|NAMESPACE\/NAME|required/,
    );
  }
  wrong(
    'network with pod and multus',
    (vm) => ((tspec(vm).networks as Loose[])[0]!.pod = {}),
    'spec.template.spec.networks[0]',
    /should have only one network type/,
  );
  wrong(
    'network with no source',
    (vm) => delete (tspec(vm).networks as Loose[])[0]!.multus,
    'spec.template.spec.networks[0]',
    /should have a network type/,
  );
  wrong(
    'two bindings',
    (vm) => ((devices(vm).interfaces as Loose[])[0]!.masquerade = {}),
    `${IFACES}[0]`,
    /only one binding/,
  );
  wrong(
    'sriov binding',
    (vm) => {
      const i = (devices(vm).interfaces as Loose[])[0]!;
      delete i.bridge;
      i.sriov = {};
    },
    `${IFACES}[0].sriov`,
    /not supported/,
  );
  wrong(
    'masquerade on a multus network',
    (vm) => {
      const i = (devices(vm).interfaces as Loose[])[0]!;
      delete i.bridge;
      i.masquerade = {};
    },
    `${IFACES}[0].name`,
    /Masquerade interface only implemented with pod network/,
  );
  wrong(
    'cpu null',
    (vm) => (domain(vm).cpu = null),
    'spec.template.spec.domain.cpu',
    /must be an object/,
  );
  wrong(
    'cpu "two"',
    (vm) => (domain(vm).cpu = 'two'),
    'spec.template.spec.domain.cpu',
    /must be an object/,
  );
  for (const v of ['2', 1.5, 0, 1000, null])
    wrong(
      `cpu.cores ${json(v)}`,
      (vm) => (domain(vm).cpu = { cores: v }),
      'spec.template.spec.domain.cpu.cores',
      /whole number/,
    );
  for (const v of [128, '1Ki', 'lots', null, {}])
    wrong(
      `memory.guest ${json(v)}`,
      (vm) => (domain(vm).memory = { guest: v }),
      'spec.template.spec.domain.memory.guest',
      /quantity/,
    );
  wrong(
    'memory null',
    (vm) => (domain(vm).memory = null),
    'spec.template.spec.domain.memory',
    /must be an object/,
  );
  wrong(
    'requests.memory as number',
    (vm) => (domain(vm).resources = { requests: { memory: 5 } }),
    'spec.template.spec.domain.resources.requests.memory',
    /quantity/,
  );
  for (const v of [5, {}, [], true]) {
    wrong(
      `metadata.name ${json(v)}`,
      (vm) => ((vm.metadata as Loose).name = v),
      'metadata.name',
      /must be a string/,
    );
  }
  create(
    'metadata as a string',
    json({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: 'x', spec: t.vm.spec }),
    [422],
    /metadata must be an object/,
    'metadata',
  );
  create(
    'metadata as an array',
    json({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: [], spec: t.vm.spec }),
    [422],
    /metadata must be an object/,
    'metadata',
  );
  wrong(
    'labels as a string',
    (vm) => (vm.metadata.labels = 'x' as unknown as Record<string, string>),
    'metadata.labels',
    /must be an object/,
  );
  wrong(
    'label value as number',
    (vm) => (vm.metadata.labels = { a: 5 } as unknown as Record<string, string>),
    'metadata.labels["a"]',
    /must be a string/,
  );
  wrong(
    'label key with shell characters',
    (vm) => (vm.metadata.labels = { '$(id)': 'v' }),
    'metadata.labels["$(id)"]',
    /qualified name/,
  );
  wrong(
    'label value with a slash',
    (vm) => (vm.metadata.labels = { a: 'b/c' }),
    'metadata.labels["a"]',
    /label value/,
  );
  wrong(
    'annotation value as object',
    (vm) => (vm.metadata.annotations = { a: {} } as unknown as Record<string, string>),
    'metadata.annotations["a"]',
    /must be a string/,
  );
  create(
    'kind Pod at the VM URL',
    vmWith(t.vm, 'kind-pod', (vm) => ((vm as Loose).kind = 'Pod')),
    [400],
    /kind of the object \(Pod\)/,
  );
  create(
    'kind as number',
    vmWith(t.vm, 'kind-num', (vm) => ((vm as Loose).kind = 5)),
    [400],
    /kind of the object \(5\)/,
  );
  create(
    'apiVersion v1',
    vmWith(t.vm, 'api-v1', (vm) => ((vm as Loose).apiVersion = 'v1')),
    [400],
    /apiVersion of the object \(v1\)/,
  );
  create(
    'apiVersion as object',
    vmWith(t.vm, 'api-obj', (vm) => ((vm as Loose).apiVersion = {})),
    [400],
    /apiVersion of the object/,
  );
  create(
    'namespace other than the URL',
    vmWith(t.vm, 'ns-other', (vm) => (vm.metadata.namespace = 'kube-system')),
    [400],
    /namespace of the provided object \(kube-system\)/,
  );
  create(
    'namespace "../default"',
    vmWith(t.vm, 'ns-dots', (vm) => (vm.metadata.namespace = '../default')),
    [400],
    /namespace of the provided object/,
  );
  create(
    'a VM that exists',
    vmWith(t.vm, t.vm.metadata.name, () => {}),
    [409],
    /already exists/,
  );

  // ---- names ----
  HOSTILE_NAMES.forEach((name) => {
    const label = JSON.stringify(name.length > 30 ? `${name.slice(0, 30)}…` : name);
    create(
      `name ${label}`,
      vmWith(t.vm, name, () => {}),
      [422],
      /RFC 1123|no more than 63/,
      'metadata.name',
    );
  });
  for (const prefix of ['Bad_', '../', 'a/b-', '名']) {
    create(
      `generateName ${JSON.stringify(prefix)}`,
      vmWith(t.vm, '', (vm) => (vm.metadata.generateName = prefix)),
      [422],
      /RFC 1123/,
      'metadata.generateName',
    );
  }
  create(
    'no name at all',
    vmWith(t.vm, '', () => {}),
    [422],
    /name or generateName is required/,
    'metadata.name',
  );
  for (const name of [
    'a%2Fb',
    '..%2F..%2Fetc',
    '%2e%2e',
    'a;id',
    '%00',
    'x'.repeat(290),
    'x'.repeat(400),
  ]) {
    add({
      name: `GET a VM named ${JSON.stringify(name.slice(0, 30))}`,
      method: 'GET',
      path: `${vms}/${name}`,
      codes: [404, 414],
      mentions: /not found|could not find|max param length/,
    });
    add({
      name: `DELETE a VM named ${JSON.stringify(name.slice(0, 30))}`,
      method: 'DELETE',
      path: `${vms}/${name}`,
      codes: [404, 414],
      mentions: /not found|could not find|max param length/,
    });
  }
  add({
    name: 'PUT with a name other than the URL',
    method: 'PUT',
    path: target,
    contentType: 'application/json',
    body: vmWith(t.vm, 'other', (vm) => (vm.metadata.resourceVersion = rv)),
    codes: [400],
    mentions: /name of the object \(other\) does not match/,
  });

  // ---- patches ----
  merge('merge patch that is an array', [], [400], /merge patch must be a JSON object/);
  merge('merge patch that is a string', 'spec', [400], /merge patch must be a JSON object/);
  merge('merge patch turning spec into an array', { spec: [] }, [422], /spec is required/, 'spec');
  merge('merge patch removing spec', { spec: null }, [422], /spec is required/, 'spec');
  merge(
    'merge patch renaming the object',
    { metadata: { name: 'other' } },
    [400],
    /name of the object \(other\)/,
  );
  merge('merge patch changing kind', { kind: 'Pod' }, [400], /kind of the object \(Pod\)/);
  merge(
    'merge patch making metadata a string',
    { metadata: 'x' },
    [422],
    /metadata must be an object/,
    'metadata',
  );
  merge(
    'merge patch making interfaces a string',
    { spec: { template: { spec: { domain: { devices: { interfaces: 'x' } } } } } },
    [422],
    /must be a list/,
    IFACES,
  );
  merge(
    'merge patch with a stale resourceVersion',
    { metadata: { resourceVersion: '1' }, spec: { runStrategy: 'Always' } },
    [409],
    /modified|resourceVersion/i,
  );
  merge(
    'merge patch with a garbage resourceVersion',
    { metadata: { resourceVersion: 'abc' }, spec: { runStrategy: 'Always' } },
    [409, 400],
    /modified|resourceVersion/i,
  );
  merge(
    'merge patch with a numeric resourceVersion',
    { metadata: { resourceVersion: 1 }, spec: { runStrategy: 'Always' } },
    [409, 400, 422],
    /modified|resourceVersion/i,
  );
  add({
    name: 'merge patch that is not JSON',
    method: 'PATCH',
    path: target,
    contentType: 'application/merge-patch+json',
    body: '{"spec": ',
    codes: [400],
    mentions: /not valid JSON/,
  });
  add({
    name: 'strategic merge patch that is an array',
    method: 'PATCH',
    path: target,
    contentType: 'application/strategic-merge-patch+json',
    body: '[]',
    codes: [400],
    mentions: /strategic merge patch must be a JSON object/,
  });
  add({
    name: 'strategic merge patch turning spec into a number',
    method: 'PATCH',
    path: target,
    contentType: 'application/strategic-merge-patch+json',
    body: '{"spec": 5}',
    codes: [422],
    mentions: /spec is required/,
    field: 'spec',
  });
  jsonPatch('json patch that is an object', { op: 'add' }, [400], /must be a JSON array/);
  jsonPatch('json patch op that is not an object', [5], [400], /operation 0 is not an object/);
  jsonPatch(
    'json patch with a bad op',
    [{ op: 'bogus', path: '/spec' }],
    [400],
    /op "bogus" is not one of/,
  );
  jsonPatch('json patch with no op', [{ path: '/spec' }], [400], /op undefined is not one of/);
  jsonPatch(
    'json patch with a numeric path',
    [{ op: 'remove', path: 5 }],
    [400],
    /"path" must be a string/,
  );
  jsonPatch(
    'json patch path without a slash',
    [{ op: 'remove', path: 'spec' }],
    [400, 422],
    /JSON pointer/,
  );
  jsonPatch(
    'json patch removing what is not there',
    [{ op: 'remove', path: '/spec/nothing/here' }],
    [422],
    /does not exist/,
  );
  jsonPatch(
    'json patch add without value',
    [{ op: 'add', path: '/spec/x' }],
    [400],
    /"value" is required/,
  );
  jsonPatch(
    'json patch move without from',
    [{ op: 'move', path: '/spec/x' }],
    [400],
    /"from" must be a string/,
  );
  jsonPatch(
    'json patch move from nowhere',
    [{ op: 'move', from: '/spec/nothing', path: '/spec/x' }],
    [422],
    /does not exist/,
  );
  jsonPatch(
    'json patch copy from nowhere',
    [{ op: 'copy', from: '/nothing/at/all', path: '/spec/x' }],
    [422],
    /does not exist/,
  );
  jsonPatch(
    'json patch with an index out of range',
    [{ op: 'add', path: '/spec/template/spec/networks/99', value: { name: 'x', pod: {} } }],
    [422],
    /out of range/,
  );
  jsonPatch(
    'json patch with a negative index',
    [{ op: 'replace', path: '/spec/template/spec/networks/-1', value: {} }],
    [422],
    /not an array index/,
  );
  jsonPatch(
    'json patch test failing',
    [{ op: 'test', path: '/spec/runStrategy', value: 'Always' }],
    [422],
    /test|Always/,
  );
  jsonPatch(
    'json patch test failing after a change',
    [
      {
        op: 'replace',
        path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
        value: '02:48:52:ee:00:09',
      },
      { op: 'test', path: '/metadata/name', value: 'someone-else' },
    ],
    [422],
    /test|someone-else/,
  );
  jsonPatch(
    'json patch turning the object into an array',
    [{ op: 'replace', path: '', value: [] }],
    [400],
    /must be a JSON object/,
  );
  jsonPatch(
    'json patch turning spec into an array',
    [{ op: 'replace', path: '/spec', value: [] }],
    [422],
    /spec is required/,
    'spec',
  );
  jsonPatch(
    'json patch turning interfaces into a number',
    [{ op: 'replace', path: '/spec/template/spec/domain/devices/interfaces', value: 5 }],
    [422],
    /must be a list/,
    IFACES,
  );
  jsonPatch(
    "json patch removing the interface's network",
    [{ op: 'remove', path: '/spec/template/spec/networks/0' }],
    [422],
    /interfaces\[0\]\.name .default. not found\./,
    `${IFACES}[0].name`,
  );
  jsonPatch(
    'json patch with a stale resourceVersion',
    [
      { op: 'replace', path: '/metadata/resourceVersion', value: '1' },
      { op: 'replace', path: '/spec/runStrategy', value: 'Always' },
    ],
    [409],
    /modified|resourceVersion/i,
  );
  jsonPatch(
    'json patch with a bad escape',
    [{ op: 'remove', path: '/spec/~2x' }],
    [422, 400],
    /does not exist|escape|~/,
  );
  jsonPatch(
    'json patch into a string',
    [{ op: 'add', path: '/spec/runStrategy/x', value: 1 }],
    [422],
    /./,
  );
  jsonPatch('json patch that is not JSON', '[{"op": "add",', [400], /not valid JSON/);
  add({
    name: 'server-side apply without a field manager',
    method: 'PATCH',
    path: target,
    contentType: 'application/apply-patch+yaml',
    body: 'spec: {}',
    codes: [422],
    mentions: /fieldManager: Required value/,
  });
  add({
    name: 'patch with an unknown type',
    method: 'PATCH',
    path: target,
    contentType: 'application/x-patch',
    body: '{}',
    codes: [415],
    mentions: /unknown format/,
  });
  add({
    name: 'patch as plain JSON',
    method: 'PATCH',
    path: target,
    contentType: 'application/json',
    body: '{}',
    codes: [415],
    mentions: /unknown format/,
  });
  add({
    name: 'patch of a VM that does not exist',
    method: 'PATCH',
    path: `${vms}/nobody`,
    contentType: 'application/merge-patch+json',
    body: '{}',
    codes: [404],
    mentions: /"nobody" not found/,
  });

  // ---- stale and bogus resourceVersions on update and delete ----
  for (const [label, v] of [
    ['stale', '1'],
    ['garbage', 'abc'],
    ['negative', '-1'],
    ['future', '999999999999'],
    ['numeric', 1],
  ] as const) {
    add({
      name: `PUT with a ${label} resourceVersion`,
      method: 'PUT',
      path: target,
      contentType: 'application/json',
      body: vmWith(t.vm, t.vm.metadata.name, (vm) => ((vm.metadata as Loose).resourceVersion = v)),
      codes: [409],
      mentions: /modified/,
    });
    add({
      name: `DELETE with a ${label} resourceVersion precondition`,
      method: 'DELETE',
      path: target,
      contentType: 'application/json',
      body: json({
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        preconditions: { resourceVersion: String(v) },
      }),
      codes: [409],
      mentions: /ResourceVersion in the precondition/,
    });
  }
  add({
    name: 'DELETE with a wrong uid precondition',
    method: 'DELETE',
    path: target,
    contentType: 'application/json',
    body: json({ preconditions: { uid: 'not-the-uid' } }),
    codes: [409],
    mentions: /UID in precondition: not-the-uid/,
  });
  add({
    name: 'DELETE with an array body',
    method: 'DELETE',
    path: target,
    contentType: 'application/json',
    body: '[]',
    codes: [400],
    mentions: /DeleteOptions/,
  });
  add({
    name: 'DELETE with dryRun Bogus',
    method: 'DELETE',
    path: target,
    contentType: 'application/json',
    body: json({ dryRun: ['Bogus'] }),
    codes: [400],
    mentions: /dryRun value "Bogus"/,
  });
  add({
    name: 'PUT of a VM that does not exist',
    method: 'PUT',
    path: `${vms}/nobody`,
    contentType: 'application/json',
    body: vmWith(t.vm, 'nobody', () => {}),
    codes: [404],
    mentions: /"nobody" not found/,
  });

  // ---- bodies: size, depth, encoding, content type ----
  create(
    'a body over the size limit',
    vmWith(t.vm, 'huge', (vm) => ((vm as Loose).padding = 'x'.repeat(4 * 1024 * 1024))),
    [413],
    /larger than the server accepts/,
  );
  create(
    'a 2 MiB MAC',
    vmWith(
      t.vm,
      'big-mac',
      (vm) =>
        (vm.spec.template!.spec!.domain.devices.interfaces![0]!.macAddress = '0'.repeat(
          2 * 1024 * 1024,
        )),
    ),
    [422],
    MALFORMED,
    MAC0,
  );
  create(
    '5000 empty interfaces',
    vmWith(
      t.vm,
      'many-ifaces',
      (vm) => (devices(vm).interfaces = Array.from({ length: 5000 }, () => ({}))),
    ),
    [422],
    /a name is required/,
    `${IFACES}[4999].name`,
  );
  for (const depth of [10_000, 100_000, 500_000]) {
    create(
      `a body nested ${depth} objects deep`,
      `{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"deep-${depth}"},"spec":${nested(depth, '1')}}`,
      [400],
      /nested/,
    );
    create(
      `a body nested ${depth} arrays deep`,
      nested(depth, '1', '[', ']'),
      [400],
      /nested|JSON object/,
    );
  }
  const deepVm = (depth: number): string =>
    vmWith(t.vm, `deep-field-${depth}`, (vm) => {
      // No MAC, so that nothing but the depth stands in the way.
      delete vm.spec.template!.spec!.domain.devices.interfaces![0]!.macAddress;
      (vm.spec.template!.spec!.domain as unknown as Loose).firmware = '@DEEP@';
    }).replace('"@DEEP@"', nested(depth, '1'));
  create('a valid VM with an unknown field nested 10000 deep', deepVm(10_000), [400], /nested/);
  create('a valid VM with an unknown field nested 300000 deep', deepVm(300_000), [400], /nested/);
  add({
    name: 'a merge patch nested 200000 deep',
    method: 'PATCH',
    path: target,
    contentType: 'application/merge-patch+json',
    body: `{"metadata":{"labels":${nested(200_000, '"x"')}}}`,
    codes: [400],
    mentions: /nested/,
  });
  add({
    name: 'a json patch whose value is nested 200000 deep',
    method: 'PATCH',
    path: target,
    contentType: 'application/json-patch+json',
    body: `[{"op":"add","path":"/spec/x","value":${nested(200_000, '1')}}]`,
    codes: [400],
    mentions: /nested/,
  });
  add({
    name: 'a YAML body nested 100000 deep',
    method: 'POST',
    path: vms,
    contentType: 'application/yaml',
    body: `metadata: {name: deep-yaml}\nspec: ${nested(100_000, '1', '[', ']')}\n`,
    codes: [400],
    mentions: /nested|YAML/,
  });
  create('an empty JSON body', '', [400], /empty/);
  create('a JSON body that is not JSON', '{"metadata": {"name": "x"}', [400], /not valid JSON/);
  create('a JSON body that is a string', '"vm"', [400], /must be a JSON object/);
  create('a JSON body that is null', 'null', [400], /must be a JSON object/);
  create(
    'a JSON body that is a number',
    '12345678901234567890e99999',
    [400],
    /must be a JSON object/,
  );
  create(
    'a JSON body with a lone surrogate name',
    '{"metadata":{"name":"\\ud800"},"spec":{}}',
    [422],
    /RFC 1123|spec/,
  );
  create(
    'a JSON body with __proto__',
    `{"__proto__":{"polluted":true},"metadata":{"name":"proto"},"spec":5}`,
    [422],
    /spec is required/,
    'spec',
  );
  create(
    'a JSON body with trailing garbage',
    `${vmWith(t.vm, 'trailing', () => {})} trailing`,
    [400],
    /not valid JSON/,
  );
  create(
    'a YAML alias bomb',
    `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nmetadata: {name: bomb}\nspec: *g\n`,
    [400],
    /YAML|alias/i,
    undefined,
    'application/yaml',
  );
  create(
    'YAML that is not YAML',
    'metadata: {name: [',
    [400],
    /not valid YAML/,
    undefined,
    'application/yaml',
  );
  create(
    'YAML with two documents',
    'metadata: {name: a}\n---\nmetadata: {name: b}\n',
    [400],
    /YAML/,
    undefined,
    'application/yaml',
  );
  create(
    'JSON sent as text/plain',
    vmWith(t.vm, 'plain', () => {}),
    [415],
    /unknown format/,
    undefined,
    'text/plain',
  );
  create(
    'JSON sent as application/xml',
    vmWith(t.vm, 'xml', () => {}),
    [415],
    /unknown format/,
    undefined,
    'application/xml',
  );
  create(
    'JSON sent as multipart/form-data',
    vmWith(t.vm, 'form', () => {}),
    [415],
    /unknown format/,
    undefined,
    'multipart/form-data; boundary=x',
  );
  create(
    'protobuf that is not protobuf',
    '\x00\x01garbage',
    [400, 415],
    /protobuf|unknown format/i,
    undefined,
    'application/vnd.kubernetes.protobuf',
  );
  add({
    name: 'JSON with no Content-Type',
    method: 'POST',
    path: vms,
    body: vmWith(t.vm, 'no-type', () => {}),
    codes: [415],
    mentions: /unknown format/,
  });
  create(
    'a merge patch content type on create',
    vmWith(t.vm, 'wrong-verb-type', (vm) => ((vm as Loose).spec = 5)),
    [422],
    /spec is required/,
    'spec',
    'application/merge-patch+json',
  );

  // ---- query parameters ----
  // kube-apiserver's rules (query-parameters.ts): a non-numeric integer is 400; a negative limit or timeout is none
  // asked for and a boolean is true unless false/0, so `limit=-1` and `watch=maybe` are not refusals there either.
  for (const q of ['limit=abc', 'limit=1.5', 'timeoutSeconds=x', 'includeObject=Everything']) {
    add({
      name: `list with ${q}`,
      method: 'GET',
      path: `${vms}?${q}`,
      codes: [400],
      mentions: new RegExp(`querystring|${q.split('=')[0]}`),
    });
  }
  add({
    name: 'list with sendInitialEvents=perhaps',
    method: 'GET',
    path: `${vms}?sendInitialEvents=perhaps`,
    codes: [422],
    mentions: /sendInitialEvents is forbidden for list/,
  });
  for (const sel of [
    '!!!',
    'a in (',
    '==',
    'a=b,,',
    'a notin b',
    '(a)',
    'a=' + 'x'.repeat(100),
    'a/b/c=d',
    'a b=c',
    'a=b c',
  ]) {
    add({
      name: `labelSelector ${JSON.stringify(sel.slice(0, 30))}`,
      method: 'GET',
      path: `${vms}?labelSelector=${encodeURIComponent(sel)}`,
      codes: [400],
      mentions: /selector/i,
    });
  }
  for (const sel of ['spec.secret=x', 'metadata.name', '!!', 'metadata.name in (a)']) {
    add({
      name: `fieldSelector ${JSON.stringify(sel)}`,
      method: 'GET',
      path: `${vms}?fieldSelector=${encodeURIComponent(sel)}`,
      codes: [400],
      mentions: /selector|field label/i,
    });
  }
  add({
    name: 'list with a garbage continue token',
    method: 'GET',
    path: `${vms}?limit=1&continue=%00%ff-garbage`,
    codes: [400, 410],
    mentions: /continue/,
  });
  add({
    name: 'create with dryRun=Bogus',
    method: 'POST',
    path: `${vms}?dryRun=Bogus`,
    contentType: 'application/json',
    body: vmWith(t.vm, 'dry', () => {}),
    codes: [400],
    mentions: /dryRun value "Bogus"/,
  });
  add({
    name: 'delete with propagationPolicy=Never',
    method: 'DELETE',
    path: `${target}?propagationPolicy=Never`,
    codes: [400],
    mentions: /propagationPolicy/,
  });
  add({
    name: 'delete with gracePeriodSeconds=soon',
    method: 'DELETE',
    path: `${target}?gracePeriodSeconds=soon`,
    codes: [400],
    mentions: /gracePeriodSeconds/,
  });

  // ---- URLs: traversal, encoding, unknown places, read-only kinds, auth ----
  for (const path of [
    '/api/v1/namespaces/../../../etc/passwd',
    `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/../../../../etc/passwd`,
    '/%2e%2e/%2e%2e/etc/passwd',
    '/api/v1/namespaces/%2e%2e%2f%2e%2e%2fetc/pods',
    `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/..%2f..%2fsecrets`,
    '/apis/evil.io/v1/things',
    '/apis/kubevirt.io/v2/namespaces/default/virtualmachines',
    '/api/v1/secrets',
    '/api/v1/namespaces/default/secrets/admin-token',
    `/apis/kubevirt.io/v1/namespaces/no-such-ns/virtualmachines/x`,
    '/..;/admin',
    '/' + 'a/'.repeat(2000),
    '//api//v1//namespaces',
  ]) {
    add({
      name: `GET ${path.slice(0, 60)}`,
      method: 'GET',
      path,
      codes: [404],
      mentions: /not found|could not find/,
    });
  }
  add({
    name: 'create in a namespace that does not exist',
    method: 'POST',
    path: '/apis/kubevirt.io/v1/namespaces/no-such-ns/virtualmachines',
    contentType: 'application/json',
    body: vmWith(t.vm, 'lost', (vm) => delete vm.metadata.namespace),
    codes: [404],
    mentions: /namespaces "no-such-ns" not found/,
  });
  add({
    name: 'create in namespace "..%2Fdefault"',
    method: 'POST',
    path: '/apis/kubevirt.io/v1/namespaces/..%2Fdefault/virtualmachines',
    contentType: 'application/json',
    body: vmWith(t.vm, 'lost2', (vm) => delete vm.metadata.namespace),
    codes: [404],
    mentions: /not found/,
  });
  add({
    name: 'a URL with a bad percent escape',
    method: 'GET',
    path: `${vms}/%zz`,
    codes: [400, 404],
    mentions: /malformed|not found/,
  });
  add({
    name: 'create a MacAllocation by hand',
    method: 'POST',
    path: '/apis/harrow.io/v1/macallocations',
    contentType: 'application/json',
    body: json({ metadata: { name: 'x' }, spec: {} }),
    codes: [405, 404],
    mentions: /not allowed|not supported|could not find/,
  });
  add({
    name: 'delete a MacAllocation by hand',
    method: 'DELETE',
    path: `/apis/harrow.io/v1/macallocations/${t.takenMac.replaceAll(':', '-')}`,
    codes: [405, 404],
    mentions: /not allowed|not supported|could not find/,
  });
  // AuditRecords are append-only: an admin (a node agent) may append a well-formed one in its own name, nothing more.
  add({
    name: 'append an AuditRecord with no spec',
    method: 'POST',
    path: `/apis/harrow.io/v1/namespaces/${ns}/auditrecords`,
    contentType: 'application/json',
    body: json({ metadata: { name: 'x' } }),
    codes: [422],
    mentions: /spec: must be an object/,
  });
  add({
    name: "append an AuditRecord in another user's name",
    method: 'POST',
    path: `/apis/harrow.io/v1/namespaces/${ns}/auditrecords`,
    contentType: 'application/json',
    body: json({
      metadata: { name: 'x' },
      spec: {
        timestamp: '2026-01-01T00:00:00Z',
        user: 'mallory',
        verb: 'delete',
        resource: { kind: 'VirtualMachine', name: 'x' },
        outcome: { code: 200, status: 'Success' },
      },
    }),
    codes: [422],
    mentions: /spec\.user/,
  });
  add({
    name: 'rewrite an AuditRecord',
    method: 'PUT',
    path: `/apis/harrow.io/v1/namespaces/${ns}/auditrecords/x`,
    contentType: 'application/json',
    body: json({ metadata: { name: 'x' }, spec: {} }),
    codes: [405, 404],
    mentions: /not allowed|not supported|could not find/,
  });
  add({
    name: 'delete an AuditRecord',
    method: 'DELETE',
    path: `/apis/harrow.io/v1/namespaces/${ns}/auditrecords/x`,
    codes: [405, 404],
    mentions: /not allowed|not supported|could not find/,
  });
  add({
    name: 'delete the default namespace',
    method: 'DELETE',
    path: '/api/v1/namespaces/default',
    codes: [403],
    mentions: /may not be deleted/,
  });
  add({
    name: 'a subresource path with traversal',
    method: 'PUT',
    path: `/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachines/../start`,
    contentType: 'application/json',
    body: '{}',
    codes: [404],
    mentions: /not found|could not find/,
  });
  add({
    name: 'start a VM that does not exist',
    method: 'PUT',
    path: `/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachines/nobody/start`,
    contentType: 'application/json',
    body: '{}',
    codes: [404],
    mentions: /not found/,
  });
  for (const [label, authorization] of [
    ['no token', ''],
    ['a wrong token', 'Bearer not-a-token'],
    ['a Basic header', 'Basic YWRtaW46YWRtaW4='],
    ['a token with shell characters', 'Bearer $(cat /etc/passwd)'],
    ['two tokens', 'Bearer a b'],
  ] as const) {
    add({
      name: `create with ${label}`,
      method: 'POST',
      path: vms,
      contentType: 'application/json',
      body: vmWith(t.vm, 'no-auth', () => {}),
      authorization,
      codes: [401],
      mentions: /Unauthorized/,
    });
  }
  return out;
}
