// kubectl (the real one) drives Harrow through the seed's flows over TLS, as a Harvester user would with KubeVirt YAML.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from './harness.ts';
import {
  kubectlMissing,
  kubevirtVm as vmYaml,
  startKubectlServer,
  type KubectlServer,
} from './kubectl-harness.ts';

const NETWORK = `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: lan
spec:
  config: '{"cniVersion":"0.3.1","type":"bridge","ipam":{"subnet":"198.18.60.0/24"}}'
`;
describe('kubectl against Harrow', { skip: kubectlMissing() ?? false, concurrency: false }, () => {
  let server: KubectlServer | undefined;
  let dataDir = '';
  const kubectl = (args: string[], stdin?: string): ReturnType<KubectlServer['kubectl']> =>
    server!.kubectl(args, stdin !== undefined ? { stdin } : {});
  const ok = (args: string[], stdin?: string): Promise<string> => server!.ok(args, stdin);

  before(async () => {
    server = await startKubectlServer();
    dataDir = server.dataDir;
  });
  after(() => server?.stop());

  test('the seed through kubectl: create from YAML, read the MAC, patch it, RestartRequired, restart, the new MAC in get vmi -o wide', async () => {
    const file = join(dataDir, 'seed.yaml');
    writeFileSync(file, `${NETWORK}---\n${vmYaml('vm-k')}`);
    assert.match(await ok(['create', '-f', file]), /virtualmachine.kubevirt.io\/vm-k created/);
    const mac = await ok([
      'get',
      'vm',
      'vm-k',
      '-o',
      'jsonpath={.spec.template.spec.domain.devices.interfaces[0].macAddress}',
    ]);
    assert.match(mac, /^02:48:52:[0-9a-f:]{8}$/);
    const kept = await ok([
      'get',
      'vm',
      'vm-k',
      '-o',
      'jsonpath={.spec.template.spec.domain.ioThreadsPolicy}',
    ]);
    assert.equal(kept, 'shared', 'KubeVirt fields Harrow does not act on are kept');
    await waitFor(async () => /Running/.test(await ok(['get', 'vmi', 'vm-k', '--no-headers'])), {
      message: 'vm-k running',
    });
    const wide = await ok(['get', 'vmi', 'vm-k', '-o', 'wide']);
    assert.ok(wide.includes(mac), `get vmi -o wide shows the MAC:\n${wide}`);

    const next = '02:48:52:fe:10:01';
    await ok([
      'patch',
      'vm',
      'vm-k',
      '--type=json',
      '-p',
      JSON.stringify([
        {
          op: 'replace',
          path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
          value: next,
        },
      ]),
    ]);
    await waitFor(
      async () => /type: RestartRequired/.test(await ok(['get', 'vm', 'vm-k', '-o', 'yaml'])),
      { message: 'RestartRequired in get vm -o yaml' },
    );
    await ok(
      [
        'replace',
        '--raw',
        '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/vm-k/restart',
        '-f',
        '-',
      ],
      '{}',
    );
    const after = await waitFor(
      async () => {
        const out = await ok(['get', 'vmi', 'vm-k', '-o', 'wide']);
        return out.includes(next) && /Running/.test(out) ? out : false;
      },
      { message: 'the new MAC in get vmi -o wide' },
    );
    assert.ok(!after.includes(mac), `the old MAC is gone:\n${after}`);
    assert.match(
      await ok(['get', 'vm', 'vm-k']),
      new RegExp(`default=${next}`),
      'get vm shows the MAC column',
    );
  });

  test("a duplicate MAC in kubectl apply prints Harrow's field error", async () => {
    const mac = await ok([
      'get',
      'vm',
      'vm-k',
      '-o',
      'jsonpath={.spec.template.spec.domain.devices.interfaces[0].macAddress}',
    ]);
    const r = await kubectl(['apply', '-f', '-'], vmYaml('vm-dup', mac));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Conflict/);
    assert.ok(
      r.stderr.includes('spec.template.spec.domain.devices.interfaces[0].macAddress'),
      r.stderr,
    );
    assert.match(r.stderr, /in use by default\/vm-k/);
    assert.equal((await kubectl(['get', 'vm', 'vm-dup'])).code, 1, 'nothing was created');
  });
});
