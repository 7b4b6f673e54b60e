// What the web UI derives from API objects: per-NIC MACs with sources and drift, error placement, manifests, filters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../../src/resources/meta.ts';
import type {
  AuditRecord,
  Pod,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../src/resources/types.ts';
import { ApiError } from '../../web/src/api/client.ts';
import { applyWatchEvent } from '../../web/src/api/feed.ts';
import { auditedVmNames, auditLines, filterAudit } from '../../web/src/model/audit.ts';
import { placeMacErrors } from '../../web/src/model/mac-errors.ts';
import { checkMac, macInRange } from '../../web/src/model/mac-field.ts';
import {
  bridgeNad,
  bridgeView,
  validateBridgeNetwork,
} from '../../web/src/model/network-config.ts';
import {
  conditionText,
  connectivityView,
  driftConsequences,
  restartChanges,
} from '../../web/src/model/explain.ts';
import { nicViews, POD_NETWORK, type NicView } from '../../web/src/model/nics.ts';
import { macPatch, vmEditPatch, vmManifest } from '../../web/src/model/vm.ts';

const PLATFORM = '02:00:00:aa:00:01';
const GUEST = '02:00:00:bb:00:02';

function vm(macAddress?: string): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'web-1', namespace: 'default' },
    spec: {
      runStrategy: 'Always',
      template: {
        spec: {
          domain: {
            devices: {
              interfaces: [
                {
                  name: 'nic-1',
                  bridge: {},
                  model: 'virtio',
                  ...(macAddress ? { macAddress } : {}),
                  pciAddress: '0000:81:01.1',
                },
              ],
            },
          },
          networks: [{ name: 'nic-1', multus: { networkName: 'vlan5' } }],
        },
      },
    },
  };
}

function pod(mac: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'virt-launcher-web-1-abcde',
      namespace: 'default',
      labels: { 'vm.kubevirt.io/name': 'web-1' },
      annotations: {
        'k8s.v1.cni.cncf.io/network-status': JSON.stringify([
          {
            name: 'k8s-pod-network',
            interface: 'eth0',
            ips: ['10.0.0.5'],
            mac: '0a:58:0a:00:00:05',
            default: true,
          },
          { name: 'default/vlan5', interface: 'pod1a2b3c', ips: ['198.18.5.20'], mac },
        ]),
      },
    },
    spec: { containers: [{ name: 'compute', image: 'harrow/launcher' }] },
  };
}

function vmi(
  interfaces: NonNullable<VirtualMachineInstance['status']>['interfaces'],
  conditions: NonNullable<VirtualMachineInstance['status']>['conditions'] = [],
): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'web-1', namespace: 'default' },
    spec: { domain: { devices: {} } },
    status: { phase: 'Running', nodeName: 'node-a', interfaces, conditions },
  };
}

describe('NIC view: platform MAC from the pod, guest MAC from the agent', () => {
  it('in sync: both figures agree and each names its source', () => {
    const [n] = nicViews(
      vm(PLATFORM),
      vmi([
        {
          name: 'nic-1',
          mac: PLATFORM,
          podInterfaceName: 'pod1a2b3c',
          interfaceName: 'eth0',
          ipAddresses: ['198.18.5.20'],
          infoSource: 'domain, guest-agent',
        },
      ]),
      pod(PLATFORM),
    );
    assert.ok(n);
    assert.equal(n.network, 'vlan5');
    assert.equal(n.platformMac, PLATFORM);
    assert.match(
      n.platformSource ?? '',
      /virt-launcher-web-1-abcde network-status, interface pod1a2b3c/,
    );
    assert.equal(n.guestMac, PLATFORM);
    assert.equal(n.guestInterfaceName, 'eth0');
    assert.match(n.guestSource ?? '', /guest-agent/);
    assert.deepEqual(n.ips, ['198.18.5.20']);
    assert.equal(n.drift, false);
    assert.equal(n.pendingRestart, false);
  });

  it('an in-guest change shows as drift: the agent reports the guest MAC as an entry of its own', () => {
    const [n] = nicViews(
      vm(PLATFORM),
      vmi([
        { name: 'nic-1', mac: PLATFORM, podInterfaceName: 'pod1a2b3c', infoSource: 'domain' },
        { mac: GUEST, interfaceName: 'eth0', infoSource: 'guest-agent' },
        { mac: '00:00:00:00:00:00', interfaceName: 'lo', infoSource: 'guest-agent' },
      ]),
      pod(PLATFORM),
    );
    assert.ok(n);
    assert.equal(n.platformMac, PLATFORM);
    assert.equal(n.guestMac, GUEST);
    assert.equal(n.drift, true);
  });

  it('reads a guestMac field when the observer writes one', () => {
    const [n] = nicViews(
      vm(PLATFORM),
      vmi([{ name: 'nic-1', mac: PLATFORM, guestMac: GUEST, infoSource: 'domain, guest-agent' }]),
      pod(PLATFORM),
    );
    assert.equal(n?.guestMac, GUEST);
    assert.equal(n?.drift, true);
  });

  it("shows the observer's drift record, and never reads the condition's message", () => {
    const record = {
      platformMac: PLATFORM,
      guestMac: GUEST,
      since: '2026-12-04T10:00:00.000Z',
      cause: 'GuestChangedMAC' as const,
      heldBy: { namespace: 'other' as const },
      remedies: [],
    };
    const [n] = nicViews(
      vm(PLATFORM),
      vmi(
        [{ name: 'nic-1', mac: PLATFORM, infoSource: 'domain', guestMacMismatch: record }],
        [{ type: 'GuestMACMismatch', status: 'True', message: 'nic-1: 02:00:00:00:00:99' }],
      ),
      pod(PLATFORM),
    );
    assert.equal(n?.drift, true);
    assert.equal(n?.guestMac, GUEST);
    assert.deepEqual(n?.mismatch, record);
    const [plain] = nicViews(
      vm(PLATFORM),
      vmi(
        [{ name: 'nic-1', mac: PLATFORM, infoSource: 'domain' }],
        [{ type: 'GuestMACMismatch', status: 'True', message: 'nic-1: 02:00:00:00:00:99' }],
      ),
      pod(PLATFORM),
    );
    assert.deepEqual([plain?.drift, plain?.guestMac], [false, undefined]);
  });

  it('a MAC changed in the manifest is pending until the pod has it', () => {
    const [n] = nicViews(
      vm(GUEST),
      vmi([{ name: 'nic-1', mac: PLATFORM, infoSource: 'domain, guest-agent' }]),
      pod(PLATFORM),
    );
    assert.equal(n?.specMac, GUEST);
    assert.equal(n?.platformMac, PLATFORM);
    assert.equal(n?.pendingRestart, true);
    assert.equal(n?.drift, false);
  });

  it('a stopped VM shows the manifest and no platform MAC', () => {
    const v = vm(PLATFORM);
    v.spec.template.spec.networks = [{ name: 'nic-1', pod: {} }];
    const [n] = nicViews(v, undefined, undefined);
    assert.equal(n?.network, POD_NETWORK);
    assert.equal(n?.platformMac, undefined);
    assert.equal(n?.guestMac, undefined);
    assert.equal(n?.drift, false);
  });
});

describe('MAC field checks and server error placement', () => {
  it('accepts the usual notations and reports the canonical form', () => {
    assert.deepEqual(checkMac('52-54-00-AB-CD-EF'), { kind: 'valid', mac: '52:54:00:ab:cd:ef' });
    assert.deepEqual(checkMac('  '), { kind: 'empty' });
  });

  it('rejects a malformed, multicast or reserved address with the module’s reason', () => {
    const bad = checkMac('02:00:00:zz:00:01');
    assert.equal(bad.kind, 'invalid');
    const multicast = checkMac('01:00:5e:00:00:01');
    assert.equal(multicast.kind === 'invalid' && multicast.code, 'multicast');
    const reserved = checkMac('02:00:00:00:00:00', { masquerade: true });
    assert.equal(reserved.kind === 'invalid' && reserved.code, 'reserved');
    assert.equal(checkMac('02:00:00:00:00:00').kind, 'valid');
  });

  it('places causes on the interface they name', () => {
    const e = new ApiError(422, 'Invalid', 'bad', [
      {
        field: 'spec.template.spec.domain.devices.interfaces[1].macAddress',
        message: 'in use by default/db-1',
      },
    ]);
    const placed = placeMacErrors(e, [{ index: 1, mac: GUEST }]);
    assert.equal(placed.byIndex.get(1), 'in use by default/db-1');
    assert.equal(placed.general, undefined);
  });

  it('places a Conflict on the field whose MAC it names; AlreadyExists stays general', () => {
    const conflict = new ApiError(
      409,
      'Conflict',
      `MAC address ${GUEST} is in use by default/db-1 (nic-1)`,
    );
    const placed = placeMacErrors(conflict, [
      { index: 0, mac: PLATFORM },
      { index: 2, mac: GUEST },
    ]);
    assert.deepEqual([...placed.byIndex.keys()], [2]);
    const exists = placeMacErrors(
      new ApiError(409, 'AlreadyExists', 'virtualmachines "web-1" already exists'),
      [{ index: 0, mac: GUEST }],
    );
    assert.equal(exists.byIndex.size, 0);
    assert.match(exists.general ?? '', /already exists/);
  });

  it('knows whether an address is inside a pool range', () => {
    assert.equal(
      macInRange('02:00:00:00:10:00', { start: '02:00:00:00:00:00', end: '02:00:00:ff:ff:ff' }),
      true,
    );
    assert.equal(
      macInRange('52:54:00:00:10:00', { start: '02:00:00:00:00:00', end: '02:00:00:ff:ff:ff' }),
      false,
    );
  });
});

describe('manifests the UI writes', () => {
  it('a MAC patch replaces only that MAC and keeps every other interface field', () => {
    const p = macPatch(vm(PLATFORM), new Map([[0, GUEST]])) as {
      spec: { template: { spec: { domain: { devices: { interfaces: unknown[] } } } } };
    };
    assert.deepEqual(p.spec.template.spec.domain.devices.interfaces, [
      { name: 'nic-1', bridge: {}, model: 'virtio', macAddress: GUEST, pciAddress: '0000:81:01.1' },
    ]);
    const cleared = macPatch(vm(PLATFORM), new Map([[0, '']])) as typeof p;
    assert.deepEqual(cleared.spec.template.spec.domain.devices.interfaces, [
      { name: 'nic-1', bridge: {}, model: 'virtio', pciAddress: '0000:81:01.1' },
    ]);
  });

  it('an edit with only CPU and memory does not touch the interfaces', () => {
    const p = vmEditPatch(vm(PLATFORM), new Map(), { cpuCores: 2, memory: '1Gi' });
    assert.deepEqual(p, {
      spec: {
        template: {
          spec: {
            domain: {
              cpu: { cores: 2 },
              memory: { guest: '1Gi' },
              resources: { requests: { memory: '1Gi' } },
            },
          },
        },
      },
    });
  });

  it('a new VM names a MAC only where one was given, and uses masquerade on the pod network', () => {
    const m = vmManifest({
      namespace: 'default',
      name: 'a',
      cpuCores: 1,
      memory: '256Mi',
      start: true,
      nics: [
        { network: '', macAddress: '' },
        { network: 'vlan5', macAddress: GUEST },
      ],
    });
    assert.equal(m.spec.runStrategy, 'Always');
    assert.deepEqual(m.spec.template.spec.domain.devices.interfaces, [
      { name: 'default', model: 'virtio', masquerade: {} },
      { name: 'nic-2', model: 'virtio', bridge: {}, macAddress: GUEST },
    ]);
    assert.deepEqual(m.spec.template.spec.networks, [
      { name: 'default', pod: {} },
      { name: 'nic-2', multus: { networkName: 'vlan5' } },
    ]);
  });

  it('a bridge network carries its VLAN and DHCP range in the CNI config', () => {
    const n = {
      name: 'vlan5',
      vlan: 5,
      subnet: '198.18.5.0/24',
      rangeStart: '198.18.5.100',
      rangeEnd: '198.18.5.199',
      gateway: '198.18.5.1',
    };
    assert.deepEqual(validateBridgeNetwork(n), []);
    const nad = bridgeNad('default', n);
    assert.deepEqual(JSON.parse(nad.spec.config ?? ''), {
      cniVersion: '0.3.1',
      name: 'vlan5',
      type: 'bridge',
      vlan: 5,
      ipam: {
        subnet: '198.18.5.0/24',
        rangeStart: '198.18.5.100',
        rangeEnd: '198.18.5.199',
        gateway: '198.18.5.1',
      },
    });
    assert.deepEqual(bridgeView(nad), {
      type: 'bridge',
      vlan: 5,
      subnet: '198.18.5.0/24',
      rangeStart: '198.18.5.100',
      rangeEnd: '198.18.5.199',
      gateway: '198.18.5.1',
    });
  });

  it('a bridge network with a bad VLAN, a range outside the subnet or the gateway inside the range is refused per field', () => {
    const base = {
      name: 'vlan5',
      vlan: 5,
      subnet: '198.18.5.0/24',
      rangeStart: '198.18.5.100',
      rangeEnd: '198.18.5.199',
      gateway: '198.18.5.1',
    };
    const fields = (n: typeof base): string[] =>
      validateBridgeNetwork(n)
        .map((e) => e.field)
        .sort();
    assert.deepEqual(fields({ ...base, name: 'Bad_Name', vlan: 4095, rangeStart: '198.18.6.1' }), [
      'name',
      'rangeStart',
      'vlan',
    ]);
    assert.deepEqual(fields({ ...base, gateway: '198.18.5.120' }), ['gateway']);
    assert.deepEqual(fields({ ...base, rangeEnd: '198.18.5.50' }), ['rangeEnd']);
    assert.deepEqual(fields({ ...base, subnet: '198.18.5.0/33' }), ['subnet']);
    // The same refusals as admission (src/ip): host bits in the subnet, leading zeros in an address.
    assert.deepEqual(fields({ ...base, subnet: '198.18.5.1/24' }), ['subnet']);
    assert.deepEqual(fields({ ...base, gateway: '198.18.5.01' }), ['gateway']);
  });
});

describe('audit filter and live lists', () => {
  const rec = (name: string, user: string, vmName: string, timestamp: string): AuditRecord => ({
    apiVersion: 'harrow.io/v1',
    kind: 'AuditRecord',
    metadata: { name, namespace: 'default' },
    spec: {
      timestamp,
      user,
      verb: 'patch',
      resource: { kind: 'VirtualMachine', namespace: 'default', name: vmName },
      outcome: { code: 200, status: 'Success' },
    },
  });
  const records = [
    rec('a', 'admin', 'web-1', '2026-01-01T10:00:00Z'),
    rec('b', 'alice', 'web-1', '2026-01-01T12:00:00Z'),
    rec('c', 'admin', 'db-1', '2026-01-01T11:00:00Z'),
  ];

  it('filters by VM, user substring and time window, newest first', () => {
    assert.deepEqual(
      filterAudit(records, { vm: '', user: '', from: '', to: '' }).map((r) => r.metadata.name),
      ['b', 'c', 'a'],
    );
    assert.deepEqual(
      filterAudit(records, { vm: 'web-1', user: '', from: '', to: '' }).map((r) => r.metadata.name),
      ['b', 'a'],
    );
    assert.deepEqual(
      filterAudit(records, { vm: '', user: 'ADM', from: '', to: '' }).map((r) => r.metadata.name),
      ['c', 'a'],
    );
    assert.deepEqual(
      filterAudit(records, {
        vm: '',
        user: '',
        from: '2026-01-01T10:30:00Z',
        to: '2026-01-01T11:30:00Z',
      }).map((r) => r.metadata.name),
      ['c'],
    );
  });

  it('the VM filter offers only VMs, and picking one leaves out a pod or network of the same name', () => {
    const pod: AuditRecord = {
      ...rec('p', 'admin', 'web-1', '2026-01-01T13:00:00Z'),
    };
    pod.spec = { ...pod.spec, resource: { kind: 'Pod', namespace: 'default', name: 'web-1' } };
    const net: AuditRecord = { ...rec('n', 'admin', 'lan', '2026-01-01T13:00:00Z') };
    net.spec = {
      ...net.spec,
      resource: { kind: 'NetworkAttachmentDefinition', namespace: 'default', name: 'lan' },
    };
    const all = [...records, pod, net];
    assert.deepEqual(auditedVmNames(all), ['db-1', 'web-1']);
    assert.deepEqual(
      filterAudit(all, { vm: 'web-1', user: '', from: '', to: '' }).map((r) => r.metadata.name),
      ['b', 'a'],
    );
  });

  it('a guest command is an action, not a change; a restart request reads as words, not JSON', () => {
    const exec: AuditRecord = rec('e', 'admin', 'web-1', '2026-01-01T13:00:00Z');
    exec.spec = {
      ...exec.spec,
      verb: 'guest-exec',
      resource: { kind: 'VirtualMachineInstance', namespace: 'default', name: 'web-1' },
      changes: [{ field: 'command', new: ['cat', '/etc/hostname'] }],
    };
    assert.deepEqual(auditLines(exec), [{ text: 'Ran in the guest: cat /etc/hostname' }]);
    const restart: AuditRecord = rec('r', 'admin', 'web-1', '2026-01-01T13:00:00Z');
    restart.spec = {
      ...restart.spec,
      verb: 'restart',
      changes: [
        {
          field: 'status.stateChangeRequests',
          new: [{ action: 'Stop', uid: '3d53' }, { action: 'Start' }],
        },
      ],
    };
    const lines = auditLines(restart);
    assert.deepEqual(lines, [{ text: 'Requested: stop, then start' }]);
    assert.doesNotMatch(JSON.stringify(lines.map((l) => l.text)), /[{[]\s*"?action/);
    const mac: AuditRecord = rec('m', 'admin', 'web-1', '2026-01-01T13:00:00Z');
    mac.spec = {
      ...mac.spec,
      changes: [{ field: 'spec.x.macAddress', old: '02:00:00:00:00:01', new: '02:00:00:00:00:02' }],
    };
    assert.deepEqual(auditLines(mac), [
      {
        text: '',
        field: 'spec.x.macAddress',
        old: '02:00:00:00:00:01',
        new: '02:00:00:00:00:02',
      },
    ]);
  });

  it('applies watch events by namespace/name', () => {
    const a = rec('a', 'admin', 'web-1', '2026-01-01T10:00:00Z');
    let m = applyWatchEvent(new Map(), { type: 'ADDED', object: a });
    m = applyWatchEvent(m, {
      type: 'MODIFIED',
      object: { ...a, spec: { ...a.spec, user: 'bob' } },
    });
    assert.equal(m.get('default/a')?.spec.user, 'bob');
    m = applyWatchEvent(m, { type: 'BOOKMARK', object: a });
    assert.equal(m.size, 1);
    m = applyWatchEvent(m, { type: 'DELETED', object: a });
    assert.equal(m.size, 0);
  });
});

describe('messages for people, rendered from structured fields', () => {
  const nic = (over: Partial<NicView> = {}): NicView => ({
    name: 'nic-1',
    index: 0,
    network: 'lan',
    binding: 'bridge',
    model: 'virtio',
    specMac: PLATFORM,
    platformMac: PLATFORM,
    platformSource: undefined,
    guestMac: GUEST,
    guestInterfaceName: 'eth0',
    guestSource: undefined,
    ips: [],
    ipSource: undefined,
    drift: true,
    mismatch: undefined,
    pendingRestart: false,
    ...over,
  });
  /** No backticks, no JSON, no sentence starting in lower case. */
  const forPeople = (text: string): void => {
    assert.doesNotMatch(text, /[`{}]/, text);
    assert.doesNotMatch(text, /(?:^|[.!?]\s+)[a-z]/, text);
  };

  it('drift: what it breaks, and that a restart does not help when the guest OS sets the MAC', () => {
    const plain = driftConsequences(nic());
    assert.equal(plain.restartRestores, true);
    assert.match(plain.lines.join(' '), /next restart the guest gets 02:00:00:aa:00:01 back/);
    const fromOs = driftConsequences(
      nic({
        mismatch: {
          platformMac: PLATFORM,
          guestMac: GUEST,
          since: '2026-12-05T09:00:00Z',
          cause: 'GuestOSConfiguration',
          setBy: { path: '/etc/network/interfaces', line: 7, text: 'hwaddress 02:00:00:bb:00:02' },
          remedies: [],
        },
      }),
    );
    assert.equal(fromOs.restartRestores, false);
    assert.match(fromOs.lines.join(' '), /\/etc\/network\/interfaces, line 7/);
    for (const line of [...plain.lines, ...fromOs.lines]) forPeople(line);
  });

  it('restart required: the pending MAC and sizing changes, never the condition message', () => {
    const v = vm('02:00:00:cc:00:03');
    v.spec.template.spec.domain.cpu = { cores: 2 };
    const running: VirtualMachineInstance = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'web-1', namespace: 'default' },
      spec: structuredClone(vm().spec.template.spec),
    };
    const lines = restartChanges(v, running, [
      nic({ specMac: '02:00:00:cc:00:03', pendingRestart: true, drift: false }),
    ]);
    assert.deepEqual(lines, [
      'NIC nic-1 gets MAC 02:00:00:cc:00:03 (it has 02:00:00:aa:00:01 now).',
      'It gets 2 vCPU (it has 1 now).',
    ]);
    const condition: Condition = {
      type: 'RestartRequired',
      status: 'True',
      message: 'a non-live-updatable field was changed in the template spec: `x`',
    };
    const text = conditionText(condition, v, running, []);
    assert.doesNotMatch(text, /non-live-updatable/);
    for (const line of [...lines, text]) forPeople(line);
  });

  it('connectivity: from the VM’s check record; a message alone is not shown', () => {
    const v = vm();
    const condition: Condition = {
      type: 'ConnectivityCheck',
      status: 'False',
      message: 'interface nic-1: a → b; no DHCP lease',
      lastTransitionTime: '2026-12-05T09:10:00Z',
    };
    v.status = {
      conditions: [condition],
      connectivityCheck: {
        checkedAt: '2026-12-05T09:10:00Z',
        passed: false,
        results: [
          {
            ok: false,
            interface: 'nic-1',
            previousMacAddress: PLATFORM,
            macAddress: GUEST,
            network: 'lan',
            lease: null,
            gateway: { ip: '198.18.0.1', reachable: false },
            message: 'interface nic-1: …',
          },
        ],
      },
    };
    const view = connectivityView(v, condition);
    assert.equal(view?.passed, false);
    assert.equal(view?.at, '2026-12-05T09:10:00Z');
    assert.deepEqual(view?.lines, [
      'NIC nic-1 changed from 02:00:00:aa:00:01 to 02:00:00:bb:00:02, but lan gave no DHCP lease to 02:00:00:bb:00:02.',
    ]);
    // The likely cause, from its record, follows in people's words.
    v.status.connectivityCheck!.results[0]!.cause = {
      reason: 'NetworkConfigMatchesOldMAC',
      macAddress: PLATFORM,
      field: 'spec.template.spec.volumes[1].cloudInitNoCloud.networkData',
      line: 5,
      text: `macaddress: "${PLATFORM}"`,
    };
    const caused = connectivityView(v, condition);
    assert.match(
      caused?.lines[0] ?? '',
      /Likely cause: the VM's cloud-init network data still matches the old MAC 02:00:00:aa:00:01 on line 5/,
    );
    for (const line of caused?.lines ?? []) forPeople(line);
    delete v.status?.connectivityCheck;
    const bare = connectivityView(v, condition);
    assert.doesNotMatch(bare?.lines.join(' ') ?? '', /interface nic-1/);
    for (const line of [...(view?.lines ?? []), ...(bare?.lines ?? [])]) forPeople(line);
  });
});
