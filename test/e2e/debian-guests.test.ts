// Real operating systems on real QEMU: KubeVirt manifests with a containerDisk of the Debian image and a
// cloudInitNoCloud seed boot, report through the guest agent and keep their writes to themselves; the seed's MAC flow
// (pool MAC everywhere, an in-guest change detected and undone by a restart, a manifest change + restart checked) holds
// on Debian as on the busybox guest. Two guests, four boots in all: the cases that do not restart share a boot, and the
// two restarts run side by side.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../../src/resources/types.ts';
import {
  NS,
  bridgeNetwork,
  conditionOf,
  getVm,
  getVmi,
  guestMac,
  launcherPod,
  networkStatus,
  pingOk,
  reaches,
  specMacs,
} from './fixtures.ts';
import { HARROW_BIN, startServer, waitFor, type HarrowServer } from './harness.ts';
import { DEBIAN_IMAGE, bootedGuest, debianSkip, osVm, waitForGuest } from './os-vms.ts';

const GATEWAY = '198.18.61.1';

/** A VM as KubeVirt's docs write one: a containerDisk of the Debian image, a cloud-init NoCloud disk. */
const debianVm = (name: string, userData: string, image = DEBIAN_IMAGE): VirtualMachine =>
  osVm(name, image, { userData });

const WRITE_HELLO = `#cloud-config
write_files:
  - path: /var/lib/harrow-test/hello
    content: "written by cloud-init\\n"
`;

describe(
  'Debian guests from KubeVirt manifests',
  { skip: debianSkip || false, concurrency: false },
  () => {
    let server: HarrowServer;
    /** Each VM's first instance and its platform (pool) MAC, from the first boot. */
    const first = new Map<string, VirtualMachineInstance>();
    const poolMac = new Map<string, string>();
    const NEW_MAC = '02:48:52:fe:00:61';
    const ROGUE = '02:00:00:00:61:99';

    let createdAt = 0;

    const exec = (vm: string, argv: string[]) => server.client.guestExec(NS, vm, argv);
    const wait = waitForGuest;
    /**
     * Running with its DHCP lease, and cloud-init's last stage done (its boot-finished file, read through the agent): until
     * then the guest's one emulated CPU is busy enough that its agent misses pings and guest-exec is refused (409).
     */
    const booted = (vm: string, notUid?: string): Promise<VirtualMachineInstance> =>
      bootedGuest(server.client, vm, notUid, '/var/lib/cloud/instance/boot-finished');
    const guestDiskFiles = (): string[] => {
      const guests = join(server.dataDir, 'qemu', 'guests');
      const files: string[] = [];
      for (const dir of readdirSync(guests))
        for (const f of readdirSync(join(guests, dir)))
          if (/^disk-/.test(f)) files.push(`${dir}/${f}`);
      return files;
    };

    before(async () => {
      // Cached by recipe and package versions: scripts/setup has built it, so this only confirms it is there.
      await promisify(execFile)(HARROW_BIN, ['image', 'build', 'debian'], { timeout: 1_800_000 });
      server = await startServer({ runtime: 'qemu' });
      await server.client.create(
        'NetworkAttachmentDefinition',
        { namespace: NS },
        bridgeNetwork('lan', 61),
      );
      // Both guests boot at once: the independent cases below share these two boots.
      createdAt = Date.now();
      for (const vm of ['deb-a', 'deb-b'])
        await server.client.create('VirtualMachine', { namespace: NS }, debianVm(vm, WRITE_HELLO));
    });
    after(async () => {
      await server?.stop();
    });

    test('a containerDisk VM boots Debian, its agent reports, and cloud-init wrote the file', async (t) => {
      const vmi = await booted('deb-a');
      t.diagnostic(
        `deb-a: created → running with a lease and cloud-init finished in ${Math.round((Date.now() - createdAt) / 1000)} s`,
      );
      first.set('deb-a', vmi);
      const hello = await wait('deb-a: cloud-init wrote the file', async () => {
        const r = await exec('deb-a', ['cat', '/var/lib/harrow-test/hello']);
        return r.exitCode === 0 && r.stdout;
      });
      assert.equal(hello, 'written by cloud-init\n');
      const os = await exec('deb-a', ['cat', '/etc/debian_version']);
      assert.match(os.stdout, /^12\./, 'the guest runs Debian 12');
      assert.ok(
        vmi.status?.interfaces?.some((i) => String(i.infoSource ?? '').includes('guest-agent')),
        `the agent reports the guest's interfaces: ${JSON.stringify(vmi.status?.interfaces)}`,
      );
      // The guest writes to its overlay; the store's image stays as it was.
      const w = await exec('deb-a', ['sh', '-c', 'echo only-a > /root/marker && sync']);
      assert.equal(w.exitCode, 0, w.stderr);
    });

    test('S1 on Debian: the pool MAC is on the pod, the VMI and the guest, with a lease and the gateway reachable', async () => {
      for (const vm of ['deb-a', 'deb-b']) {
        const vmi = first.get(vm) ?? (await booted(vm));
        first.set(vm, vmi);
        const mac = specMacs(await getVm(server.client, vm))[0]!;
        assert.match(mac, /^02:48:52:/, `${vm}: the manifest carries a pool MAC`);
        poolMac.set(vm, mac);
        const pod = await launcherPod(server.client, vm);
        assert.equal(networkStatus(pod)[0]?.mac, mac, `${vm}: network-status shows the MAC`);
        assert.equal(vmi.status?.interfaces?.[0]?.mac, mac, `${vm}: the VMI shows the MAC`);
        assert.equal(await guestMac(server.client, vm), mac, `${vm}: the guest uses the MAC`);
        assert.match(vmi.status?.interfaces?.[0]?.ipAddress ?? '', /^198\.18\.61\.\d+$/);
        assert.ok(await reaches(server.client, vm, GATEWAY), `${vm} reaches its gateway`);
      }
    });

    test("a second VM from the same image does not see the first one's changes", async () => {
      const marker = await exec('deb-b', ['cat', '/root/marker']);
      assert.notEqual(marker.exitCode, 0, `deb-b sees deb-a's file: ${marker.stdout}`);
      const a = await exec('deb-a', ['cat', '/root/marker']);
      assert.equal(a.stdout, 'only-a\n');
      // Each guest has its own instance-id (its VM's uid), so cloud-init ran for each.
      const ids = await Promise.all(
        ['deb-a', 'deb-b'].map((vm) =>
          wait(`${vm}: cloud-init's instance-id`, async () => {
            const r = await exec(vm, ['cat', '/var/lib/cloud/data/instance-id']);
            return r.exitCode === 0 && r.stdout.trim();
          }),
        ),
      );
      assert.notEqual(ids[0], ids[1]);
    });

    test('S3 on Debian: an in-guest `ip link set` is detected and explained, and breaks connectivity', async () => {
      const r = await exec('deb-b', ['ip', 'link', 'set', 'eth0', 'address', ROGUE]);
      assert.equal(r.exitCode, 0, r.stderr);
      const vmi = await wait('deb-b: GuestMACMismatch on the VMI', async () => {
        const v = await getVmi(server.client, 'deb-b');
        return conditionOf(v, 'GuestMACMismatch')?.status === 'True' && v;
      });
      const message = conditionOf(vmi, 'GuestMACMismatch')!.message ?? '';
      assert.ok(
        message.includes(poolMac.get('deb-b')!) && message.includes(ROGUE),
        `the message names both MACs: ${message}`,
      );
      assert.match(message, /restart/i, 'the message gives the remedy');
      assert.equal(vmi.status?.interfaces?.[0]?.mac, poolMac.get('deb-b'));
      assert.equal(await pingOk(server.client, 'deb-b', GATEWAY), false, 'connectivity is broken');
    });

    test('S4 on Debian: a MAC change through the manifest → RestartRequired, the running guest unchanged', async () => {
      await server.client.jsonPatch('VirtualMachine', { namespace: NS, name: 'deb-a' }, [
        {
          op: 'replace',
          path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
          value: NEW_MAC,
        },
      ]);
      await wait(
        'deb-a: RestartRequired',
        async () =>
          conditionOf(await getVm(server.client, 'deb-a'), 'RestartRequired')?.status === 'True',
      );
      assert.equal(await guestMac(server.client, 'deb-a'), poolMac.get('deb-a'));
      assert.equal(
        (await getVmi(server.client, 'deb-a'))?.metadata.uid,
        first.get('deb-a')!.metadata.uid,
      );
    });

    test('both restarted at once: deb-b has its platform MAC back; deb-a comes up with the new MAC everywhere, the connectivity check passes and RestartRequired clears', async (t) => {
      const started = Date.now();
      await Promise.all(['deb-a', 'deb-b'].map((vm) => server.client.restart(NS, vm)));
      const [a, b] = await Promise.all(
        ['deb-a', 'deb-b'].map((vm) => booted(vm, first.get(vm)!.metadata.uid)),
      );
      t.diagnostic(
        `two Debian restarts side by side: both up in ${Math.round((Date.now() - started) / 1000)} s`,
      );

      // S3's restore: the platform MAC everywhere again, the drift gone, the network back.
      const restored = poolMac.get('deb-b')!;
      assert.equal(b!.status?.interfaces?.[0]?.mac, restored);
      assert.equal(
        await guestMac(server.client, 'deb-b'),
        restored,
        'deb-b: the guest has its platform MAC again',
      );
      assert.equal(conditionOf(b, 'GuestMACMismatch'), undefined, 'the drift condition is cleared');
      assert.ok(await reaches(server.client, 'deb-b', GATEWAY), 'deb-b: connectivity is back');

      // S4's restart: the new MAC on the VMI, the pod and the guest, and the platform's check says so.
      assert.equal(a!.status?.interfaces?.[0]?.mac, NEW_MAC, 'the VMI shows the new MAC');
      assert.equal(networkStatus(await launcherPod(server.client, 'deb-a'))[0]?.mac, NEW_MAC);
      assert.equal(await guestMac(server.client, 'deb-a'), NEW_MAC, 'the guest has the new MAC');
      assert.match(a!.status?.interfaces?.[0]?.ipAddress ?? '', /^198\.18\.61\.\d+$/);
      const vm = await wait(
        'deb-a: the connectivity check ran and RestartRequired cleared',
        async () => {
          const v = await getVm(server.client, 'deb-a');
          return (
            conditionOf(v, 'ConnectivityCheck') &&
            conditionOf(v, 'RestartRequired') === undefined &&
            v
          );
        },
      );
      const check = conditionOf(vm, 'ConnectivityCheck')!;
      assert.equal(check.status, 'True', check.message);
      assert.match(check.message ?? '', new RegExp(NEW_MAC));
      assert.ok(
        await reaches(server.client, 'deb-a', GATEWAY),
        'deb-a: connectivity with the new MAC',
      );
    });

    test('an image that is not in the store: the VMI says which and how to import it', async () => {
      await server.client.create(
        'VirtualMachine',
        { namespace: NS },
        debianVm('deb-missing', WRITE_HELLO, 'registry.example/nothing/here:1'),
      );
      const cond = await waitFor(
        async () => conditionOf(await getVmi(server.client, 'deb-missing'), 'VolumesReady'),
        { timeoutMs: 60_000, message: 'deb-missing: VolumesReady condition' },
      );
      assert.equal(cond.status, 'False');
      assert.equal(cond.reason, 'ImageNotFound');
      assert.match(cond.message ?? '', /registry\.example\/nothing\/here:1/);
      assert.match(cond.message ?? '', /harrow image import/);
      await server.client.delete('VirtualMachine', { namespace: NS, name: 'deb-missing' });
    });

    test('images are API objects: the Debian image is listed with its KubeVirt alias', async () => {
      const image = await waitFor(
        () =>
          server.client
            .get<KubeObject>('VirtualMachineImage', { name: 'debian-12' })
            .catch(() => undefined),
        { timeoutMs: 30_000, message: 'VirtualMachineImage debian-12' },
      );
      const spec = image.spec as { aliases: string[] };
      assert.ok(spec.aliases.includes('quay.io/containerdisks/debian:12'));
    });

    test('the overlays end with their VMs: nothing is left behind', async () => {
      assert.ok(
        guestDiskFiles().length >= 4,
        `overlays and seeds while running: ${guestDiskFiles()}`,
      );
      for (const vm of ['deb-a', 'deb-b'])
        await server.client.delete('VirtualMachine', { namespace: NS, name: vm });
      await waitFor(async () => guestDiskFiles().length === 0, {
        timeoutMs: 120_000,
        message: `disk files gone: ${guestDiskFiles()}`,
      });
    });
  },
);
