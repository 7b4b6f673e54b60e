// Fuzzing VM admission: arbitrary JSON-ish VirtualMachines are either admitted (canonical, distinct MACs, each planned
// into an allocation) or refused with an Invalid/Conflict whose causes name fields of the input; never another exception.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MacAllocationService } from '../../src/allocation/service.ts';
import { virtualMachineAdmission } from '../../src/apiserver/admission/virtualmachine.ts';
import type { AdmissionPlugin } from '../../src/apiserver/admission/types.ts';
import { validateMac } from '../../src/mac/index.ts';
import { HarrowError, Invalid } from '../../src/resources/errors.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import {
  macAllocationName,
  type MacAllocation,
  type VirtualMachine,
} from '../../src/resources/types.ts';
import {
  interfacesOf,
  templateSpecOf,
  validateVirtualMachine,
} from '../../src/resources/virtualmachine.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';

const CAUSE_REASONS = new Set([
  'FieldValueInvalid',
  'FieldValueRequired',
  'FieldValueDuplicate',
  'FieldValueNotSupported',
  'FieldValueForbidden',
]);

// ---- generators: mostly the shape Harrow reads, with any JSON value in any place ----

/** As the apiserver receives it: parsed JSON (fast-check builds some objects without a prototype). */
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
const junk = fc.jsonValue({ maxDepth: 2 });
const maybe = <T>(arb: fc.Arbitrary<T>, weight = 4): fc.Arbitrary<T | unknown> =>
  fc.oneof({ arbitrary: arb, weight }, { arbitrary: junk, weight: 1 });
const names = fc.constantFrom('default', 'a', 'b', 'lan', 'LAN', '', 'x/y', 'a'.repeat(64));
const macs = fc.oneof(
  fc.constantFrom(
    '02:48:52:00:00:01',
    '02-48-52-00-00-02',
    '0248.5200.0003',
    '024852000004',
    '52:54:00:ab:cd:ef',
    '02:00:00:00:00:00',
  ),
  fc.constantFrom(
    'ff:ff:ff:ff:ff:ff',
    '01:00:5e:00:00:01',
    '00:00:00:00:00:00',
    '',
    'nope',
    '02:48:52:00:00',
  ),
  fc.string({ maxLength: 17 }),
);
const binding = fc.constantFrom<Record<string, unknown>>(
  { bridge: {} },
  { masquerade: {} },
  { sriov: {} },
  { bridge: {}, masquerade: {} },
  {},
);
const iface = maybe(
  fc
    .tuple(
      fc.record({ name: maybe(names), macAddress: maybe(macs) }, { requiredKeys: ['name'] }),
      binding,
    )
    .map(([i, b]) => ({ ...i, ...b })),
);
const network = maybe(
  fc.record(
    {
      name: maybe(names),
      pod: fc.constant({}),
      multus: maybe(
        fc.record({
          networkName: maybe(fc.constantFrom('lan', 'default/lan', 'a/b/c', '', 'LAN')),
        }),
      ),
    },
    { requiredKeys: ['name'] },
  ),
);
const domain = maybe(
  fc.record(
    {
      cpu: maybe(
        fc.record(
          { cores: maybe(fc.integer({ min: -1, max: 100 })), sockets: junk },
          { requiredKeys: [] },
        ),
      ),
      memory: maybe(
        fc.record({ guest: maybe(fc.constantFrom('128Mi', '1Gi', '8Mi', '1.5Gi', 'lots', '')) }),
      ),
      resources: maybe(
        fc.record({ requests: maybe(fc.record({ memory: maybe(fc.constantFrom('64Mi', 'x')) })) }),
      ),
      devices: maybe(
        fc.record({ interfaces: maybe(fc.array(iface, { maxLength: 4 })) }, { requiredKeys: [] }),
      ),
      firmware: junk,
    },
    { requiredKeys: ['devices'] },
  ),
);
const spec = maybe(
  fc.record(
    {
      runStrategy: maybe(
        fc.constantFrom('Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once', 'always'),
      ),
      running: maybe(fc.boolean()),
      template: maybe(
        fc.record({
          spec: maybe(
            fc.record(
              { domain, networks: maybe(fc.array(network, { maxLength: 4 })) },
              { requiredKeys: ['domain'] },
            ),
          ),
        }),
      ),
    },
    { requiredKeys: ['template'] },
  ),
  8,
);
const annotations = fc.option(
  fc.dictionary(
    fc.constantFrom(
      'harrow.io/mac-pool',
      'harrow.io/maintenance-window',
      'harrow.io/restart-scheduled-at',
      'note',
    ),
    fc.constantFrom('default', 'nope', 'Sat 01:00-03:00', 'garbage', '2026-11-29T01:00:00Z', ''),
  ),
  { nil: undefined },
);
/** A VM as the apiserver hands it to admission: metadata is an object with a string name (incomingObject sees to it). */
const admittableVm = fc
  .record({ name: fc.constantFrom('vm-a', 'vm-b', 'Bad_Name', 'x'.repeat(70)), annotations, spec })
  .map(
    ({ name, annotations: a, spec: s }) =>
      asJson({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name, namespace: 'default', ...(a ? { annotations: a } : {}) },
        spec: s,
      }) as VirtualMachine,
  );
/** A valid VM (1–3 interfaces with their networks, some with a MAC), then up to three fields set to anything. */
const VALID_MACS = [
  '02:48:52:00:10:01',
  '02-48-52-00-10-02',
  '0248.5200.1003',
  '5254.00ab.0004',
  '00:1a:4a:16:01:51',
];
const MUTABLE = [
  'spec.runStrategy',
  'spec.running',
  'spec.template',
  'spec.template.spec',
  'spec.template.spec.domain',
  'spec.template.spec.domain.cpu',
  'spec.template.spec.domain.cpu.cores',
  'spec.template.spec.domain.memory',
  'spec.template.spec.domain.memory.guest',
  'spec.template.spec.domain.devices',
  'spec.template.spec.domain.devices.interfaces',
  'spec.template.spec.domain.devices.interfaces.0',
  'spec.template.spec.domain.devices.interfaces.0.name',
  'spec.template.spec.domain.devices.interfaces.0.macAddress',
  'spec.template.spec.domain.devices.interfaces.1.macAddress',
  'spec.template.spec.domain.devices.interfaces.0.masquerade',
  'spec.template.spec.networks',
  'spec.template.spec.networks.0',
  'spec.template.spec.networks.0.name',
  'spec.template.spec.networks.0.pod',
  'spec.template.spec.networks.0.multus',
  'spec.template.spec.networks.0.multus.networkName',
  'metadata.annotations',
];
function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const steps = path.split('.');
  let at: unknown = root;
  for (const step of steps.slice(0, -1)) {
    if (typeof at !== 'object' || at === null) return;
    at = (at as Record<string, unknown>)[step];
  }
  if (typeof at === 'object' && at !== null) (at as Record<string, unknown>)[steps.at(-1)!] = value;
}
const mutatedVm = fc
  .record({
    interfaces: fc.array(
      fc.record({
        mac: fc.option(fc.constantFrom(...VALID_MACS), { nil: undefined }),
        pod: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    runStrategy: fc.constantFrom('Always', 'Halted', 'Manual'),
    mutations: fc.array(
      fc.tuple(fc.constantFrom(...MUTABLE), fc.oneof(junk, macs, names, binding)),
      { maxLength: 3 },
    ),
  })
  .map(({ interfaces, runStrategy, mutations }) => {
    const pods = interfaces.filter((i) => i.pod).length;
    const ifaces = interfaces.map((i, n) => ({
      name: `nic${n}`,
      ...(i.pod && pods === 1 ? { masquerade: {} } : { bridge: {} }),
      ...(i.mac ? { macAddress: i.mac } : {}),
    }));
    const networks = interfaces.map((i, n) => ({
      name: `nic${n}`,
      ...(i.pod && pods === 1 ? { pod: {} } : { multus: { networkName: 'lan' } }),
    }));
    const vm = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'vm-m', namespace: 'default' },
      spec: {
        runStrategy,
        template: {
          spec: {
            domain: {
              cpu: { cores: 1 },
              memory: { guest: '128Mi' },
              devices: { interfaces: ifaces },
            },
            networks,
          },
        },
      },
    };
    for (const [path, value] of mutations) setPath(vm, path, structuredClone(value));
    return asJson(vm) as VirtualMachine;
  });

/** Any object at all, metadata included. */
const anyVm = fc
  .record({ metadata: maybe(fc.record({ name: maybe(names) }), 2), spec }, { requiredKeys: [] })
  .map(asJson) as unknown as fc.Arbitrary<VirtualMachine>;

// ---- what a refusal must look like ----

/** The value at a cause's field path, with `found: false` when a step of it is missing (paths like a.b[0]["k"].c). */
function resolve(root: unknown, field: string): { found: boolean; value?: unknown } {
  let value = root;
  for (const [, key, index] of field.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) {
    const step = key ?? (index!.startsWith('"') ? (JSON.parse(index!) as string) : index!);
    if (typeof value !== 'object' || value === null || !(step in value)) return { found: false };
    value = (value as Record<string, unknown>)[step];
  }
  return { found: true, value };
}

function assertRefusal(error: unknown, input: unknown, what: string): void {
  assert.ok(
    error instanceof HarrowError,
    `${what}: threw ${error instanceof Error ? error.stack : String(error)}`,
  );
  assert.ok(
    error.reason === 'Invalid' || error.reason === 'Conflict',
    `${what}: ${error.reason} ${error.message}`,
  );
  const causes = error.details.causes ?? [];
  assert.ok(causes.length > 0, `${what}: ${error.reason} without causes: ${error.message}`);
  for (const c of causes) {
    assert.ok(CAUSE_REASONS.has(c.reason), `${what}: cause reason ${c.reason}`);
    assert.ok(c.message.length > 0, `${what}: empty cause message`);
    assert.match(c.field, /^(metadata|spec)\b/, `${what}: field ${c.field}`);
    // The field is in the input, or (a required one) its parent is; annotation keys hold dots, so only spec paths are walked.
    if (!c.field.startsWith('spec')) continue;
    const parent = c.field.replace(/(\.[^.[\]]+|\[[^\]]*\])$/, '');
    assert.ok(
      resolve(input, c.field).found || parent === c.field || resolve(input, parent).found,
      `${what}: ${c.field} names nothing in ${JSON.stringify(input)}`,
    );
  }
}

describe('VM validation fuzzing', () => {
  it('validateVirtualMachine admits or throws Invalid naming fields, for any object (property)', () => {
    fc.assert(
      fc.property(fc.oneof(anyVm, admittableVm, mutatedVm), (generated) => {
        const vm = structuredClone(generated);
        const input = structuredClone(generated);
        try {
          validateVirtualMachine(vm);
        } catch (e) {
          assert.ok(
            e instanceof Invalid,
            `threw ${e instanceof Error ? e.stack : String(e)} for ${JSON.stringify(input)}`,
          );
          assertRefusal(e, input, JSON.stringify(input));
          return;
        }
        // Admitted: every given MAC is now canonical, and validating again changes nothing.
        for (const i of interfacesOf(templateSpecOf(vm)))
          if (i.macAddress !== undefined)
            assert.equal(
              validateMac(i.macAddress, { masquerade: i.masquerade !== undefined }),
              i.macAddress,
            );
        const once = structuredClone(vm);
        validateVirtualMachine(vm);
        assert.deepEqual(vm, once);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('VM admission fuzzing', () => {
  let store: SqliteStore;
  let macs: MacAllocationService;
  let admission: AdmissionPlugin;
  let stored: KubeObject | undefined;
  before(async () => {
    store = await openSqliteStore(':memory:');
    macs = await MacAllocationService.open(store, { quarantineSeconds: 60 });
    admission = virtualMachineAdmission(store, macs);
    // Updates start from a stored VM, admitted and committed as the apiserver does, so its MACs are held.
    const vm = structuredClone(
      fc.sample(
        mutatedVm.filter((v) => {
          try {
            validateVirtualMachine(structuredClone(v));
            return true;
          } catch {
            return false;
          }
        }),
        1,
      )[0]!,
    );
    const result = await admission.admit({
      operation: 'create',
      kind: 'VirtualMachine',
      object: vm,
      user: { name: 'fuzz', groups: [] },
      dryRun: false,
    });
    [stored] = await store.commit([{ type: 'create', object: vm }, ...(result?.ops ?? [])]);
    result?.committed?.();
  });
  after(async () => {
    macs.close();
    await store.close();
  });

  it('moves a MAC an update gives another interface instead of keeping it on both (found by the property below)', async () => {
    const vm = (ifaces: Array<{ name: string; mac?: string }>): VirtualMachine =>
      asJson({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'mover', namespace: 'default' },
        spec: {
          runStrategy: 'Halted',
          template: {
            spec: {
              domain: {
                devices: {
                  interfaces: ifaces.map((i) => ({
                    name: i.name,
                    bridge: {},
                    ...(i.mac ? { macAddress: i.mac } : {}),
                  })),
                },
              },
              networks: ifaces.map((i) => ({ name: i.name, multus: { networkName: 'lan' } })),
            },
          },
        },
      }) as VirtualMachine;
    const user = { name: 'fuzz', groups: [] };
    const first = vm([{ name: 'nic0', mac: '02:48:52:00:30:01' }, { name: 'nic1' }]);
    const created = await admission.admit({
      operation: 'create',
      kind: 'VirtualMachine',
      object: first,
      user,
      dryRun: false,
    });
    const [old] = await store.commit([{ type: 'create', object: first }, ...(created?.ops ?? [])]);
    created?.committed?.();
    // Re-applied without nic0's MAC, the MAC now on nic1: nic0 must not keep it as well.
    const next = vm([{ name: 'nic0' }, { name: 'nic1', mac: '02:48:52:00:30:01' }]);
    const updated = await admission.admit({
      operation: 'update',
      kind: 'VirtualMachine',
      object: next,
      oldObject: old!,
      user,
      dryRun: true,
    });
    updated?.rollback?.();
    const [nic0, nic1] = interfacesOf(templateSpecOf(next)).map((i) => i.macAddress);
    assert.equal(nic1, '02:48:52:00:30:01');
    assert.ok(nic0 !== undefined && nic0 !== nic1, `nic0 has ${nic0}, nic1 ${nic1}`);
  });

  it('admits with distinct canonical MACs, each planned into an allocation, or refuses naming fields (property)', async () => {
    let admitted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutatedVm, admittableVm),
        fc.boolean(),
        async (generated, update) => {
          // Admission writes MACs into the object: work on a copy, fast-check reuses the generated value when shrinking.
          const vm = structuredClone(generated);
          const old = update ? structuredClone(stored!) : undefined;
          if (old) vm.metadata.name = old.metadata.name; // the URL's name
          const input = structuredClone(vm) as KubeObject;
          let result;
          try {
            result = await admission.admit({
              operation: update ? 'update' : 'create',
              kind: 'VirtualMachine',
              object: vm,
              ...(old ? { oldObject: old } : {}),
              user: { name: 'fuzz', groups: [] },
              dryRun: true,
            });
          } catch (e) {
            assertRefusal(e, input, JSON.stringify(input));
            refused++;
            return;
          }
          try {
            admitted++;
            const given = interfacesOf(templateSpecOf(vm)).map((i) => i.macAddress);
            for (const mac of given) {
              assert.ok(
                mac !== undefined,
                `an interface left without a MAC: ${JSON.stringify(vm.spec)}`,
              );
              assert.equal(validateMac(mac), mac, 'canonical');
            }
            assert.equal(new Set(given).size, given.length, `distinct MACs: ${given.join(', ')}`);
            const planned = new Set(
              (result?.ops ?? []).map((op) =>
                'object' in op
                  ? (op.object as { spec?: { macAddress?: string } }).spec?.macAddress
                  : undefined,
              ),
            );
            for (const mac of given) {
              if (planned.has(mac)) continue;
              // Not planned: the VM already holds it (an update keeping its MAC).
              const held = (await store.get({
                kind: 'MacAllocation',
                name: macAllocationName(mac!),
              })) as MacAllocation | undefined;
              assert.ok(
                held?.spec.owner.name === vm.metadata.name && held.status.state === 'InUse',
                `${mac} is neither planned nor held by ${vm.metadata.name}`,
              );
            }
          } finally {
            result?.rollback?.();
          }
        },
      ),
      { numRuns: 1500 },
    );
    assert.ok(
      admitted > 50 && refused > 50,
      `the generator reaches both outcomes (admitted ${admitted}, refused ${refused})`,
    );
  });
});
