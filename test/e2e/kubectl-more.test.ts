// The real kubectl beyond the seed's flows: explain, edit, get -w, --dry-run=server, output formats, a KubeVirt manifest corpus, and harrow export round trips — with no warnings on stderr.
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, waitFor } from './harness.ts';
import {
  kubectlMissing,
  kubevirtVm,
  startKubectlServer,
  type KubectlServer,
} from './kubectl-harness.ts';

const CORPUS = join(REPO_ROOT, 'test', 'fixtures', 'kubevirt');
const MAC_PATH = '{.spec.template.spec.domain.devices.interfaces[0].macAddress}';

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: {
    template: {
      spec: { domain: { devices: { interfaces?: Array<{ name: string; macAddress?: string }> } } };
    };
  };
}

const vmYaml = (name: string, options: { mac?: string; runStrategy?: string } = {}): string =>
  kubevirtVm(name, options.mac, options.runStrategy ?? 'Halted');

describe(
  'kubectl against Harrow: explain, edit, watch, dry runs, output formats, manifests',
  { skip: kubectlMissing() ?? false, concurrency: false },
  () => {
    let server: KubectlServer | undefined;
    const ok = (args: string[], stdin?: string): Promise<string> => server!.ok(args, stdin);
    const macsInUse = async (): Promise<string[]> =>
      (
        await ok([
          'get',
          'macallocations',
          '-o',
          'jsonpath={range .items[?(@.status.state=="InUse")]}{.spec.macAddress}{"\\n"}{end}',
        ])
      )
        .split('\n')
        .filter((l) => l !== '')
        .sort();

    before(async () => {
      // A short quarantine, so that a VM moved by export → delete → create gets its own MAC back within the test.
      server = await startKubectlServer({ args: ['--quarantine-seconds', '1'] });
      await ok(['apply', '-f', join(CORPUS, 'networks.yaml')]);
    });
    after(() => server?.stop());

    test('kubectl explain reads the VirtualMachine schema down to the interfaces, MAC included', async () => {
      const vm = await ok(['explain', 'vm']);
      assert.match(vm, /KIND:\s+VirtualMachine/);
      assert.match(vm, /GROUP:\s+kubevirt\.io/);
      assert.match(vm, /metadata\s+<ObjectMeta>/);
      assert.match(vm, /spec\s+<Object> -required-/);
      const interfaces = await ok(['explain', 'vm.spec.template.spec.domain.devices.interfaces']);
      assert.match(interfaces, /FIELD: interfaces <\[\]Object>/);
      assert.match(interfaces, /macAddress\s+<string>/);
      assert.match(interfaces, /name\s+<string> -required-/);
      const meta = await ok(['explain', 'vm.metadata.labels']);
      assert.match(meta, /labels\s+<map\[string\]string>/);
      assert.match(await ok(['explain', 'net-attach-def.spec']), /config\s+<string>/);
    });

    test('kubectl --validate=strict (the default) is answered by the server: a typo outside the kept fields is refused, --validate=warn warns', async () => {
      const typo = vmYaml('vm-typo').replace(
        'spec:\n  runStrategy',
        'spce:\n  runStrategy: Halted\nspec:\n  runStrategy',
      );
      const strict = await server!.kubectl(['create', '-f', '-'], { stdin: typo });
      assert.notEqual(strict.code, 0);
      assert.match(strict.stderr, /strict decoding error: unknown field "spce"/);
      assert.equal(
        (await server!.kubectl(['get', 'vm', 'vm-typo'])).code,
        1,
        'nothing was created',
      );
      const warned = await server!.kubectl(['create', '--validate=warn', '-f', '-'], {
        stdin: typo,
      });
      assert.equal(warned.code, 0, warned.stderr);
      assert.match(warned.stderr, /Warning: unknown field "spce"/);
      await ok(['delete', 'vm', 'vm-typo']);
    });

    test('a misspelt macAddress inside an interface is refused with its path under strict, and under warn the VM gets a pool MAC with a warning', async () => {
      const typo = vmYaml('vm-macadress').replace(
        '            bridge: {}',
        '            bridge: {}\n            macAdress: "02:48:52:00:00:10"',
      );
      const path = 'spec.template.spec.domain.devices.interfaces[0].macAdress';
      const strict = await server!.kubectl(['apply', '-f', '-'], { stdin: typo });
      assert.notEqual(strict.code, 0);
      assert.ok(
        strict.stderr.includes(
          `VirtualMachine in version "v1" cannot be handled as a VirtualMachine: strict decoding error: unknown field "${path}"`,
        ),
        strict.stderr,
      );
      assert.equal((await server!.kubectl(['get', 'vm', 'vm-macadress'])).code, 1, 'not created');
      const warned = await server!.kubectl(['apply', '--validate=warn', '-f', '-'], {
        stdin: typo,
      });
      assert.equal(warned.code, 0, warned.stderr);
      assert.ok(warned.stderr.includes(`Warning: unknown field "${path}"`), warned.stderr);
      const stored = JSON.parse(await ok(['get', 'vm', 'vm-macadress', '-o', 'json'])) as Manifest;
      const iface = stored.spec.template.spec.domain.devices.interfaces![0]! as Record<
        string,
        unknown
      >;
      assert.equal(
        iface.macAdress,
        undefined,
        'the unknown field is dropped, as kube-apiserver does',
      );
      assert.match(String(iface.macAddress), /^02:48:52(:[0-9a-f]{2}){3}$/);
      await ok(['delete', 'vm', 'vm-macadress']);
    });

    test('the KubeVirt manifest corpus: kubectl apply takes each file unchanged, and get -o json returns every field', async () => {
      await ok(['create', 'namespace', 'corpus']);
      const files = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml') && f !== 'networks.yaml');
      assert.ok(files.length >= 5, `the corpus has several manifests: ${files.join(', ')}`);
      const used = new Set<string>();
      for (const file of files) {
        const manifests = parseAllDocuments(readFileSync(join(CORPUS, file), 'utf8')).map(
          (d) => d.toJS() as Manifest,
        );
        assert.match(
          await ok(['apply', '-n', 'corpus', '-f', join(CORPUS, file)]),
          /virtualmachine\.kubevirt\.io\/\S+ created/,
          file,
        );
        for (const sent of manifests) {
          const stored = JSON.parse(
            await ok(['get', 'vm', '-n', 'corpus', sent.metadata.name, '-o', 'json']),
          ) as Manifest;
          const expected = structuredClone(sent.spec);
          const got = stored.spec.template.spec.domain.devices.interfaces ?? [];
          (expected.template.spec.domain.devices.interfaces ?? []).forEach((iface, i) => {
            if (iface.macAddress !== undefined) return;
            // Absent in the manifest: Harrow allocated one from the pool (the only field the server adds to the spec).
            assert.match(
              got[i]?.macAddress ?? '',
              /^02:48:52(:[0-9a-f]{2}){3}$/,
              `${file}: ${iface.name} got a MAC`,
            );
            iface.macAddress = got[i]!.macAddress;
          });
          assert.deepEqual(stored.spec, expected, `${file}: the spec comes back as sent`);
          for (const i of got) {
            assert.ok(!used.has(i.macAddress!), `${file}: ${i.macAddress} is unique`);
            used.add(i.macAddress!);
          }
        }
        // Applying the same file again keeps every MAC: kubectl's merge patch replaces the interface lists (lists are
        // atomic in a JSON merge patch), and admission keeps the MAC an interface already had when the manifest omits it.
        const macs = await ok([
          'get',
          'vm',
          '-n',
          'corpus',
          '-o',
          `jsonpath={range .items[*]}{.spec.template.spec.domain.devices.interfaces[*].macAddress}{"\\n"}{end}`,
        ]);
        assert.match(
          await ok(['apply', '-n', 'corpus', '-f', join(CORPUS, file)]),
          /(configured|unchanged)/,
          file,
        );
        assert.equal(
          await ok([
            'get',
            'vm',
            '-n',
            'corpus',
            '-o',
            `jsonpath={range .items[*]}{.spec.template.spec.domain.devices.interfaces[*].macAddress}{"\\n"}{end}`,
          ]),
          macs,
          `${file}: re-applied, same MACs`,
        );
      }
    });

    test('kubectl edit changes a MAC through the editor, and the old one is released', async () => {
      const before = '02:6b:76:00:30:01';
      const next = '02:6b:76:00:30:02';
      await ok(['create', '-f', '-'], vmYaml('vm-edit', { mac: before }));
      const editor = join(server!.dataDir, 'editor.sh');
      writeFileSync(editor, `#!/bin/sh\nsed -i 's/${before}/${next}/' "$1"\n`);
      chmodSync(editor, 0o755);
      const r = await server!.kubectl(['edit', 'vm', 'vm-edit'], {
        env: { KUBE_EDITOR: editor, EDITOR: editor },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', `kubectl edit printed warnings: ${r.stderr}`);
      assert.match(r.stdout, /virtualmachine\.kubevirt\.io\/vm-edit edited/);
      assert.equal(await ok(['get', 'vm', 'vm-edit', '-o', `jsonpath=${MAC_PATH}`]), next);
      const states = await ok([
        'get',
        'macallocations',
        '-o',
        'jsonpath={range .items[*]}{.spec.macAddress}={.status.state}{"\\n"}{end}',
      ]);
      assert.ok(states.includes(`${next}=InUse`), states);
      assert.ok(!states.includes(`${before}=InUse`), states);
      assert.equal(
        await ok([
          'get',
          'vm',
          'vm-edit',
          '-o',
          'jsonpath={.spec.template.spec.domain.ioThreadsPolicy}',
        ]),
        'shared',
        'edit keeps the KubeVirt fields Harrow does not act on',
      );
    });

    test('kubectl get vm -w prints a line when the VM changes', async () => {
      const watch = server!.spawnKubectl(['get', 'vm', '-w']);
      let out = '';
      let err = '';
      watch.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      watch.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      try {
        await waitFor(() => /vm-edit\s+\S+\s+Stopped/.test(out), {
          message: 'the watch lists vm-edit Stopped',
        });
        const seen = out.length;
        await ok([
          'patch',
          'vm',
          'vm-edit',
          '--type',
          'merge',
          '-p',
          '{"spec":{"runStrategy":"Always"}}',
        ]);
        await waitFor(() => /vm-edit\s+\S+\s+(Starting|Running)/.test(out.slice(seen)), {
          message: 'the watch prints vm-edit starting',
        });
        assert.equal(err.trim(), '', `kubectl get -w printed warnings: ${err}`);
      } finally {
        watch.kill('SIGKILL');
      }
    });

    test('-o name, -o jsonpath over a list, and -o wide for a VMI with its MAC', async () => {
      const names = (await ok(['get', 'vm', '-o', 'name'])).trim().split('\n');
      assert.ok(names.includes('virtualmachine.kubevirt.io/vm-edit'), names.join(' '));
      const pairs = await ok([
        'get',
        'vm',
        '-n',
        'corpus',
        '-o',
        `jsonpath={range .items[*]}{.metadata.name}={${MAC_PATH.slice(1, -1)}}{"\\n"}{end}`,
      ]);
      assert.match(
        pairs,
        /^web-1=02:48:52/m,
        "web-1's first interface (pod network) got a pool MAC",
      );
      const wide = await waitFor(
        async () => {
          const o = await ok(['get', 'vmi', 'vm-edit', '-o', 'wide']);
          return /Running/.test(o) && o;
        },
        { message: 'vm-edit running' },
      );
      assert.match(wide.split('\n')[0]!, /MAC/);
      assert.ok(wide.includes('02:6b:76:00:30:02'), wide);
    });

    test('--dry-run=server on create, patch and delete changes nothing and keeps no MAC', async () => {
      const macsBefore = await macsInUse();
      const created = JSON.parse(
        await ok(['create', '--dry-run=server', '-o', 'json', '-f', '-'], vmYaml('vm-dry')),
      ) as Manifest;
      const dryMac = created.spec.template.spec.domain.devices.interfaces![0]!.macAddress!;
      assert.match(dryMac, /^02:48:52/, 'admission ran: a MAC was picked');
      const r = await server!.kubectl(['get', 'vm', 'vm-dry']);
      assert.equal(r.code, 1, 'nothing was created');
      assert.deepEqual(await macsInUse(), macsBefore, 'no MAC is held for the dry run');
      // Nor reserved in the allocator's memory: a real VM may ask for exactly that MAC now.
      await ok(['create', '-f', '-'], vmYaml('vm-after-dry', { mac: dryMac }));
      await ok(['delete', 'vm', 'vm-after-dry']);
      const macsBeforePatch = await macsInUse();

      const patched = await ok([
        'patch',
        'vm',
        'vm-edit',
        '--dry-run=server',
        '--type',
        'merge',
        '-o',
        `jsonpath=${MAC_PATH}`,
        '-p',
        JSON.stringify({
          spec: {
            template: {
              spec: {
                domain: {
                  devices: {
                    interfaces: [{ name: 'default', bridge: {}, macAddress: '02:6b:76:00:30:09' }],
                  },
                },
              },
            },
          },
        }),
      ]);
      assert.equal(patched, '02:6b:76:00:30:09', 'the dry run answers with the patched object');
      assert.equal(
        await ok(['get', 'vm', 'vm-edit', '-o', `jsonpath=${MAC_PATH}`]),
        '02:6b:76:00:30:02',
        'the stored MAC is unchanged',
      );
      assert.deepEqual(await macsInUse(), macsBeforePatch, 'no MAC reserved by the dry-run patch');

      assert.match(
        await ok(['delete', 'vm', 'vm-edit', '--dry-run=server']),
        /deleted \(server dry run\)/,
      );
      assert.equal(
        await ok(['get', 'vm', 'vm-edit', '-o', 'jsonpath={.metadata.name}']),
        'vm-edit',
        'still there',
      );
      assert.deepEqual(await macsInUse(), macsBeforePatch, 'its MAC is still held');
    });

    test('kubectl replace -f with the object read back, then describe shows the change', async () => {
      const current = JSON.parse(await ok(['get', 'vm', 'vm-edit', '-o', 'json'])) as Manifest & {
        metadata: { labels?: Record<string, string> };
      };
      current.metadata.labels = { ...current.metadata.labels, tier: 'gold' };
      assert.match(
        await ok(['replace', '-f', '-'], JSON.stringify(current)),
        /virtualmachine\.kubevirt\.io\/vm-edit replaced/,
      );
      const described = await ok(['describe', 'vm', 'vm-edit']);
      assert.match(described, /tier=gold/);
      assert.ok(described.includes('02:6b:76:00:30:02'), described);
    });

    test('harrow export → kubectl create in another namespace: refused while the source holds the MAC, a copy without MACs gets new ones, a move keeps its MAC', async () => {
      await ok(['create', '-f', '-'], vmYaml('vm-src'));
      const mac = await ok(['get', 'vm', 'vm-src', '-o', `jsonpath=${MAC_PATH}`]);
      const source = JSON.parse(await ok(['get', 'vm', 'vm-src', '-o', 'json'])) as Manifest;
      await ok(['create', 'namespace', 'target']);

      const exported = await server!.harrow(['export', 'vm', 'vm-src', '--without-namespace']);
      assert.equal(exported.code, 0, exported.stderr);
      assert.ok(exported.stdout.includes(mac), `the export carries the MAC:\n${exported.stdout}`);
      assert.doesNotMatch(
        exported.stdout,
        /uid:|resourceVersion:|creationTimestamp:|generation:|status:/,
        exported.stdout,
      );
      const held = await server!.kubectl(['create', '-n', 'target', '-f', '-'], {
        stdin: exported.stdout,
      });
      assert.notEqual(held.code, 0);
      assert.match(held.stderr, new RegExp(`MAC ${mac} is in use by default/vm-src`));

      const copy = await server!.harrow([
        'export',
        'vm',
        'vm-src',
        '--without-namespace',
        '--without-macs',
        '-o',
        'json',
      ]);
      assert.equal(copy.code, 0, copy.stderr);
      await ok(['create', '-n', 'target', '-f', '-'], copy.stdout);
      const copied = JSON.parse(
        await ok(['get', 'vm', '-n', 'target', 'vm-src', '-o', 'json']),
      ) as Manifest;
      const newMac = copied.spec.template.spec.domain.devices.interfaces![0]!.macAddress;
      assert.notEqual(newMac, mac, 'the copy got a MAC of its own');
      const expected = structuredClone(source.spec);
      expected.template.spec.domain.devices.interfaces![0]!.macAddress = newMac!;
      assert.deepEqual(
        copied.spec,
        expected,
        'the copy has the source spec, unknown fields included',
      );
      await ok(['delete', 'vm', '-n', 'target', 'vm-src']);

      // A move: the source goes, and after the MAC's quarantine (1 s here) the export brings the VM back with it.
      await ok(['delete', 'vm', 'vm-src']);
      await waitFor(
        async () =>
          (await server!.kubectl(['create', '-n', 'target', '-f', '-'], { stdin: exported.stdout }))
            .code === 0,
        {
          timeoutMs: 15_000,
          message:
            'the export creates the VM in the target namespace once the MAC is out of quarantine',
        },
      );
      const moved = JSON.parse(
        await ok(['get', 'vm', '-n', 'target', 'vm-src', '-o', 'json']),
      ) as Manifest;
      assert.deepEqual(moved.spec, source.spec, 'the moved VM has the same spec, MAC included');
    });
  },
);
