// The shapes of KubeVirt's examples, written for Harrow (test/fixtures/kubevirt/shapes): bare VMIs on the pod network
// with masquerade and no MAC, several Multus networks, no interfaces at all, every ephemeral disk, a VM pool's template.
// Each goes through the real kubectl: apply → get -o json returns the spec as sent, apart from the MACs Harrow filled in
// → runs on sim → delete → gone.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, runCli, waitFor } from './harness.ts';
import { kubectlMissing, startKubectlServer, type KubectlServer } from './kubectl-harness.ts';

const SHAPES = join(REPO_ROOT, 'test', 'fixtures', 'kubevirt', 'shapes');
const NS = 'shapes';
const BOOT_IMAGE = 'registry.example.org/harrow-shapes/boot:1';

interface Iface {
  name: string;
  macAddress?: string;
  [f: string]: unknown;
}
interface InstanceSpec {
  domain: { devices: { interfaces?: Iface[]; [f: string]: unknown }; [f: string]: unknown };
  networks?: Array<{ name: string; [f: string]: unknown }>;
  [f: string]: unknown;
}
interface Manifest {
  kind: 'VirtualMachine' | 'VirtualMachineInstance';
  metadata: { name: string; labels?: Record<string, string> };
  spec: { template?: { spec: InstanceSpec }; [f: string]: unknown } & Partial<InstanceSpec>;
  status?: {
    phase?: string;
    ready?: boolean;
    printableStatus?: string;
    conditions?: Array<{ type: string; status: string }>;
  };
}

const instanceSpec = (m: Manifest): InstanceSpec =>
  (m.kind === 'VirtualMachine' ? m.spec.template!.spec : m.spec) as InstanceSpec;
const resource = (m: Manifest): string => (m.kind === 'VirtualMachine' ? 'vm' : 'vmi');

describe(
  "kubectl with the shapes of KubeVirt's examples: apply, get back as sent, run, delete",
  { skip: kubectlMissing() ?? false, concurrency: false },
  () => {
    let server: KubectlServer | undefined;
    const imageDir = mkdtempSync(join(tmpdir(), 'harrow-shapes-images-'));
    const ok = (args: string[]): Promise<string> => server!.ok(args);

    before(async () => {
      // The container disk the shapes boot from: a small raw disk under the name their manifests use.
      const disk = join(imageDir, 'boot.raw');
      writeFileSync(disk, Buffer.alloc(1024 * 1024));
      const imported = await runCli([
        'image',
        'import',
        'shapes-boot',
        disk,
        '--alias',
        BOOT_IMAGE,
        '--image-dir',
        imageDir,
      ]);
      assert.equal(imported.code, 0, imported.stderr);
      server = await startKubectlServer({ env: { HARROW_IMAGE_DIR: imageDir } });
      await ok(['create', 'namespace', NS]);
      await ok(['apply', '-n', NS, '-f', join(SHAPES, 'networks.yaml')]);
    });
    after(() => {
      server?.stop();
      rmSync(imageDir, { recursive: true, force: true });
    });

    const files = readdirSync(SHAPES).filter((f) => f.endsWith('.yaml') && f !== 'networks.yaml');

    test('the shapes cover bare VMIs, several Multus networks, no interfaces, ephemeral disks and a pool template', () => {
      assert.deepEqual(files.sort(), [
        'vm-pool-template.yaml',
        'vmi-ephemeral-disks.yaml',
        'vmi-masquerade-pod.yaml',
        'vmi-multus-several.yaml',
        'vmi-no-interfaces.yaml',
      ]);
    });

    test('kubectl get macpool shows the figures the controller keeps, and kubectl explain macpool.status lists them', async () => {
      const table = await waitFor(
        async () => {
          const out = await ok(['get', 'macpool', 'default']);
          return (
            /\bdefault\s+02:48:52:00:00:00-02:48:52:ff:ff:ff\s+16777216\s+\d+\s+\d+/.test(out) &&
            out
          );
        },
        { message: 'kubectl get macpool default with RANGES CAPACITY ALLOCATED QUARANTINED' },
      );
      assert.match(table, /NAME\s+RANGES\s+CAPACITY\s+ALLOCATED\s+QUARANTINED\s+AGE/);
      const explain = await ok(['explain', 'macpool.status']);
      for (const field of [
        'allocated',
        'capacity',
        'observedGeneration',
        'outsideRanges',
        'quarantined',
        'ranges',
      ])
        assert.match(explain, new RegExp(`\\b${field}\\s+<`), `explain lists ${field}`);
      const ranges = await ok(['explain', 'macpool.status.ranges']);
      for (const field of ['allocated', 'capacity', 'end', 'quarantined', 'start'])
        assert.match(ranges, new RegExp(`\\b${field}\\s+<`), `explain lists ranges[].${field}`);
    });

    test('kubectl describe vmi shows why a VMI cannot start: Synchronized=False and a Warning Event with the reason', async () => {
      const vmi = `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: shape-no-network
spec:
  domain:
    memory:
      guest: 128Mi
    devices:
      interfaces:
        - name: gone
          bridge: {}
  networks:
    - name: gone
      multus:
        networkName: does-not-exist
`;
      const created = await server!.kubectl(['apply', '-n', NS, '-f', '-'], { stdin: vmi });
      assert.equal(created.code, 0, created.stderr);
      const described = await waitFor(
        async () => {
          const out = await ok(['describe', 'vmi', '-n', NS, 'shape-no-network']);
          return (
            /Warning\s+NoNetworkFound/.test(out) && /Reason:\s+NoNetworkFound/.test(out) && out
          );
        },
        { message: 'kubectl describe vmi shows the condition and the Warning' },
      );
      assert.match(described, /Type:\s+Synchronized/);
      assert.match(described, /does-not-exist/);
      await ok(['delete', 'vmi', '-n', NS, 'shape-no-network']);
    });

    for (const file of files) {
      test(`${file}: apply → the same spec back (MACs filled in) → Running and Ready on sim → delete → gone`, async () => {
        const manifests = parseAllDocuments(readFileSync(join(SHAPES, file), 'utf8')).map(
          (d) => d.toJS() as Manifest,
        );
        assert.match(
          await ok(['apply', '-n', NS, '-f', join(SHAPES, file)]),
          /(virtualmachine|virtualmachineinstance)\.kubevirt\.io\/\S+ created/,
        );
        for (const sent of manifests) {
          const stored = JSON.parse(
            await ok(['get', resource(sent), '-n', NS, sent.metadata.name, '-o', 'json']),
          ) as Manifest;
          const expected = structuredClone(sent.spec);
          const want = instanceSpec({ ...sent, spec: expected } as Manifest);
          const got = instanceSpec(stored);
          if (want.domain.devices.interfaces === undefined && want.networks === undefined) {
            // KubeVirt's default pod interface (autoattachPodInterface): masquerade on the pod network.
            want.domain.devices.interfaces = [{ name: 'default', masquerade: {} }];
            want.networks = [{ name: 'default', pod: {} }];
          }
          for (const [i, iface] of (want.domain.devices.interfaces ?? []).entries()) {
            const mac = got.domain.devices.interfaces?.[i]?.macAddress;
            if (iface.macAddress !== undefined) {
              assert.equal(mac, iface.macAddress, `${file}: ${iface.name} keeps its own MAC`);
              continue;
            }
            assert.match(
              mac ?? '',
              /^02:48:52(:[0-9a-f]{2}){3}$/,
              `${file}: ${iface.name} got a pool MAC`,
            );
            iface.macAddress = mac;
          }
          assert.deepEqual(
            stored.spec,
            expected,
            `${file}: the spec comes back as sent, MACs filled in`,
          );
          for (const [k, v] of Object.entries(sent.metadata.labels ?? {}))
            assert.equal(stored.metadata.labels?.[k], v, `${file}: label ${k} kept`);

          // Runs: the VMI Running with Ready=True (and for a VM, the VM Ready).
          await waitFor(
            async () => {
              const vmi = JSON.parse(
                await ok(['get', 'vmi', '-n', NS, sent.metadata.name, '-o', 'json']),
              ) as Manifest;
              return (
                vmi.status?.phase === 'Running' &&
                vmi.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
              );
            },
            { timeoutMs: 60_000, message: `${file}: ${sent.metadata.name} Running and Ready` },
          );
          if (sent.kind === 'VirtualMachine')
            await waitFor(
              async () =>
                (
                  JSON.parse(
                    await ok(['get', 'vm', '-n', NS, sent.metadata.name, '-o', 'json']),
                  ) as Manifest
                ).status?.ready === true,
              { message: `${file}: the VM is Ready` },
            );
        }
        await ok(['delete', '-n', NS, '-f', join(SHAPES, file), '--wait=false']);
        for (const sent of manifests)
          for (const kind of ['vmi', resource(sent)])
            await waitFor(
              async () => {
                const r = await server!.kubectl(['get', kind, '-n', NS, sent.metadata.name]);
                return r.code !== 0 && /NotFound|not found/.test(r.stderr);
              },
              { timeoutMs: 60_000, message: `${file}: ${kind} ${sent.metadata.name} gone` },
            );
      });
    }
  },
);
