// Issue 15's console and issue 16's MAC pitfalls on the Debian guest under real QEMU: `harrow console` in a
// pseudo-terminal and the web UI's console tab (login with the password cloud-init set, `ip link show` prints the
// platform MAC, Ctrl-] leaves); a guest whose /etc/network/interfaces pins a rogue MAC (drift back after restore-by-
// restart, explained with the file and line, then adopted); the network-config Harrow generates following a manifest
// MAC change (on the seed and inside the guest); a user networkData matching the old MAC (kubectl's warning, then the
// failed check naming it). Three guests booted side by side, seven boots in all; each restart overlaps the others'.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { VirtualMachineInstance } from '../../src/resources/types.ts';
import { guestFiles } from '../../src/runtime/qemu/state-dir.ts';
import { launchBrowser, unexpectedProblems, type BrowserSession } from './browser.ts';
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
import {
  assertPinnedByInterfaces,
  assertPinnedMessage,
  assertStaleMatchCheck,
  assertStaleMatchWarning,
  kubectlPatchMac,
  matchingNetworkData,
} from './os-mac-pitfalls.ts';
import {
  DEBIAN_IMAGE,
  bootedGuest,
  debianSkip,
  osVm,
  pinningInterfaces,
  waitForGuest,
} from './os-vms.ts';
import { harrowInPty } from './pty.ts';
import { consoleScreenText, ensureWebBuilt, expectOnConsole, signIn } from './ui-support.ts';

const run = promisify(execFile);
const GATEWAY = '198.18.63.1';

/** pin: ifupdown pins this MAC at every boot. */
const ROGUE = '02:aa:16:63:00:99';
/** gen: the manifest's new MAC. */
const GEN_NEW = '02:48:52:fe:63:02';
/** ncfg: the MAC its user networkData matches, and the one the manifest changes to. */
const NCFG_OLD = '02:48:52:fe:63:31';
const NCFG_NEW = '02:48:52:fe:63:32';
const ROOT_PASSWORD = 'harrow-console-63';

const indent = (text: string, spaces: number): string =>
  text
    .split('\n')
    .map((l) => (l === '' ? l : ' '.repeat(spaces) + l))
    .join('\n');

/** The pinning file written by cloud-init (it persists on the DataVolume), and the MAC set now as ifup would. */
const PIN_USER_DATA = `#cloud-config
write_files:
  - path: /etc/network/interfaces
    content: |
${indent(pinningInterfaces(ROGUE), 6)}
runcmd:
  - [ip, link, set, dev, eth0, address, "${ROGUE}"]
`;
/** root's password on the serial console, set by cloud-init (the image's root has none until then). */
const GEN_USER_DATA = `#cloud-config
chpasswd:
  expire: false
  users:
    - name: root
      password: ${ROOT_PASSWORD}
      type: text
`;

/** The root shell's prompt on Debian's bash. */
const SHELL_PROMPT = /root@deb-gen:~# $/m;

describe(
  'Debian guests: the serial console, and the MAC pitfalls of a real OS',
  { skip: debianSkip || false, concurrency: false },
  () => {
    let server: HarrowServer;
    let browser: BrowserSession | undefined;
    /** The instance each VM is on now (its uid tells a restart's new instance). */
    const current = new Map<string, VirtualMachineInstance>();
    const poolMac = new Map<string, string>();
    let boots = 0;
    /** deb-gen's cloud-init instance-id before its MAC change. */
    let genFirstInstanceId = '';
    const started = Date.now();

    const exec = (vm: string, argv: string[]) => server.client.guestExec(NS, vm, argv);
    const wait = waitForGuest;
    const booted = (vm: string, notUid?: string): Promise<VirtualMachineInstance> =>
      bootedGuest(server.client, vm, notUid);
    /** A new instance (not `notUid`) running with its agent connected, whatever its network did. */
    const nextInstance = (vm: string, notUid?: string) =>
      wait<VirtualMachineInstance>(`${vm}: a new instance with its agent`, async () => {
        const vmi = await getVmi(server.client, vm);
        return (
          vmi?.status?.phase === 'Running' &&
          vmi.metadata.uid !== notUid &&
          conditionOf(vmi, 'AgentConnected')?.status === 'True' &&
          vmi
        );
      });
    /** What the serial port and the guest's getty did, for a console case that saw no prompt. */
    const consoleDiagnosis = async (screen: string): Promise<string> => {
      const log = await server.cli(['logs', 'vm', 'deb-gen', '--console', '--tail', '40']);
      const getty = await exec('deb-gen', [
        'sh',
        '-c',
        'cat /proc/loadavg; systemctl status --no-pager -l serial-getty@ttyS0.service dev-ttyS0.device; ' +
          'systemctl list-jobs --no-pager; journalctl -b --no-pager -u systemd-udevd | tail -n 20',
      ]).catch((e: unknown) => ({ stdout: String(e), stderr: '' }));
      return `screen:\n${screen.slice(-1500)}\nserial log (last 40 lines):\n${log.stdout}${log.stderr}\nguest:\n${getty.stdout}${getty.stderr}`;
    };
    const restart = async (vm: string): Promise<void> => {
      await server.client.restart(NS, vm);
      boots++;
    };
    const elapsed = (): string => `${Math.round((Date.now() - started) / 1000)} s`;
    /** The seed disk the runtime made for the VM's current instance (the cloud-init volume, an ISO). */
    const seedOf = (vmi: VirtualMachineInstance): string => {
      const dir = guestFiles(join(server.dataDir, 'qemu'), vmi.metadata.uid!).dir;
      const iso = readdirSync(dir).find((f) => f.endsWith('.iso'));
      assert.ok(iso, `a seed ISO in ${dir}: ${readdirSync(dir)}`);
      return join(dir, iso);
    };
    const seedFile = async (iso: string, name: string): Promise<string> =>
      (await run('isoinfo', ['-R', '-i', iso, '-x', `/${name}`])).stdout;
    const guestDiskFiles = (): string[] => {
      const guests = join(server.dataDir, 'qemu', 'guests');
      return readdirSync(guests).flatMap((dir) =>
        readdirSync(join(guests, dir))
          .filter((f) => /^disk-/.test(f))
          .map((f) => `${dir}/${f}`),
      );
    };
    const persistentDisks = (): string[] => {
      try {
        return readdirSync(join(server.dataDir, 'qemu', 'disks')).filter((f) => !f.startsWith('.'));
      } catch {
        return [];
      }
    };

    before(async () => {
      await run(HARROW_BIN, ['image', 'build', 'debian'], { timeout: 1_800_000 });
      ensureWebBuilt();
      // TLS: kubectl sends its token and prints the server's warnings only over TLS.
      server = await startServer({ runtime: 'qemu', args: ['--tls', 'auto'] });
      await server.client.create(
        'NetworkAttachmentDefinition',
        { namespace: NS },
        bridgeNetwork('lan', 63),
      );
      for (const vm of [
        osVm('deb-pin', DEBIAN_IMAGE, { root: 'dataVolume', userData: PIN_USER_DATA }),
        osVm('deb-gen', DEBIAN_IMAGE, { root: 'dataVolume', userData: GEN_USER_DATA }),
        osVm('deb-ncfg', DEBIAN_IMAGE, {
          networkData: matchingNetworkData(NCFG_OLD),
          mac: NCFG_OLD,
        }),
      ])
        await server.client.create('VirtualMachine', { namespace: NS }, vm);
      boots += 3;
    });
    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    test('three Debian guests boot side by side, each on its platform MAC', async (t) => {
      for (const vm of ['deb-gen', 'deb-ncfg']) {
        const vmi = await booted(vm);
        current.set(vm, vmi);
        const mac = specMacs(await getVm(server.client, vm))[0]!;
        poolMac.set(vm, mac);
        assert.equal(vmi.status?.interfaces?.[0]?.mac, mac, `${vm}: the VMI shows the MAC`);
        t.diagnostic(`${vm}: up at ${elapsed()}`);
      }
      assert.equal(poolMac.get('deb-ncfg'), NCFG_OLD);
      assert.equal(
        (await getVmi(server.client, 'deb-ncfg'))?.status?.interfaces?.[0]?.interfaceName,
        'lan0',
        "deb-ncfg: its networkData's match found the NIC and named it",
      );
      // deb-pin loses its lease when its runcmd sets the rogue MAC: it is up once its agent answers.
      const pin = await nextInstance('deb-pin');
      current.set('deb-pin', pin);
      poolMac.set('deb-pin', specMacs(await getVm(server.client, 'deb-pin'))[0]!);
      t.diagnostic(`deb-pin: agent at ${elapsed()}`);
    });

    test('a MAC pinned by /etc/network/interfaces: the drift is detected, as a change inside the guest', async () => {
      const vmi = await wait('deb-pin: GuestMACMismatch', async () => {
        const v = await getVmi(server.client, 'deb-pin');
        return v?.status?.interfaces?.[0]?.guestMacMismatch && v;
      });
      const record = vmi.status!.interfaces![0]!.guestMacMismatch!;
      assert.equal(record.guestMac, ROGUE);
      assert.equal(record.platformMac, poolMac.get('deb-pin'));
      assert.equal(record.cause, 'GuestChangedMAC', 'the first time, it looks like any change');
      const pinned = await exec('deb-pin', ['cat', '/etc/network/interfaces']);
      assert.equal(pinned.stdout, pinningInterfaces(ROGUE), 'cloud-init wrote the pinning file');
      // Restore by restart; the other cases go on while it boots again.
      await server.client.restoreMac(NS, 'deb-pin');
      boots++;
    });

    test('user networkData matching the MAC: kubectl prints the warning naming the field and line; the change is stored', async () => {
      assertStaleMatchWarning(
        await kubectlPatchMac(server, 'deb-ncfg', NCFG_NEW),
        NCFG_OLD,
        NCFG_NEW,
      );
      const stored = await getVm(server.client, 'deb-ncfg');
      assert.equal(specMacs(stored)[0], NCFG_NEW, 'a warning, not a refusal');
      // Applied anyway: restart now, while the console cases run.
      await restart('deb-ncfg');
    });

    test('harrow console in a terminal on Debian: login prompt, root logs in with the password cloud-init set, ip link show prints the platform MAC, Ctrl-] leaves', async (t) => {
      const mac = poolMac.get('deb-gen')!;
      const term = harrowInPty(['console', 'deb-gen'], { HARROW_KUBECONFIG: server.kubeconfig });
      try {
        await term.expect(/Successfully connected to deb-gen console/);
        const start = term.screen().length;
        // getty printed its prompt at boot; Enter asks for it again (again if the guest, busy, shows nothing yet).
        let enters = 0;
        await waitFor(
          async () => {
            if (/deb-gen login: $/m.test(term.screen().slice(start))) return true;
            term.type('\r');
            enters++;
            return false;
          },
          { timeoutMs: 300_000, intervalMs: 30_000, message: 'the login prompt' },
        ).catch(async (e: unknown) => {
          throw new Error(`${(e as Error).message}\n${await consoleDiagnosis(term.screen())}`);
        });
        t.diagnostic(`login prompt after ${enters} Enter(s)`);
        const login = term.screen().length;
        term.type('root\r');
        await term.expect(/Password: $/m, { from: login, timeoutMs: 120_000 });
        const password = term.screen().length;
        term.type(`${ROOT_PASSWORD}\r`);
        await term.expect(SHELL_PROMPT, { from: password, timeoutMs: 120_000 });
        const command = term.screen().length;
        term.type('ip link show eth0\r');
        const shown = await term.expect(/link\/ether ([0-9a-f:]{17})/, {
          from: command,
          timeoutMs: 60_000,
        });
        assert.equal(shown[1], mac, 'the guest shows the platform MAC on its console');
        await term.expect(SHELL_PROMPT, { from: command + 10, timeoutMs: 60_000 });
        // Log out, so the next viewer (the web UI) meets the login prompt, then leave.
        const logout = term.screen().length;
        term.type('exit\r');
        await term.expect(/deb-gen login: $/m, { from: logout, timeoutMs: 120_000 });
        term.type('\x1d');
        assert.equal(await term.exited, 0, `harrow console exits 0 on Ctrl-]:\n${term.screen()}`);
        t.diagnostic(`console session done at ${elapsed()}`);
      } finally {
        term.kill();
      }
    });

    test("the web UI's console tab on Debian: the login prompt, root logs in, ip link show prints the platform MAC", async () => {
      const mac = poolMac.get('deb-gen')!;
      browser = await launchBrowser('console-debian', undefined, { ignoreHTTPSErrors: true });
      const { page } = browser;
      await signIn(page, server);
      await page.goto(`${server.url}/ui/namespaces/${NS}/vms/deb-gen/console`);
      await page.getByText('Connected to the serial console').waitFor({ timeout: 60_000 });
      // The tab sends Enter on connecting; getty asks for a login again.
      await expectOnConsole(page, /deb-gen login:\s*$/m, 300_000).catch(async (e: unknown) => {
        throw new Error(
          `${(e as Error).message}\n${await consoleDiagnosis(await consoleScreenText(page))}`,
        );
      });
      await browser.screenshot('debian login prompt');
      await page.getByTestId('console-screen').click();
      await page.keyboard.type('root');
      await page.keyboard.press('Enter');
      await expectOnConsole(page, /Password:\s*$/m, 120_000);
      await page.keyboard.type(ROOT_PASSWORD);
      await page.keyboard.press('Enter');
      await expectOnConsole(page, /root@deb-gen:~#\s*$/m, 120_000);
      await page.keyboard.type('ip link show eth0');
      await page.keyboard.press('Enter');
      const shown = await expectOnConsole(page, /link\/ether ([0-9a-f:]{17})/, 60_000);
      assert.equal(shown, `link/ether ${mac}`, 'the guest shows the platform MAC on its console');
      await browser.screenshot('debian ip link show');
      await page.keyboard.type('exit');
      await page.keyboard.press('Enter');
      await expectOnConsole(page, /deb-gen login:\s*$/m, 120_000);
      assert.deepEqual(unexpectedProblems(browser.takeConsoleProblems()), []);
      await browser.close();
      browser = undefined;
    });

    test("the generated network-config: a MAC change through the manifest regenerates it (the seed's network-config and instance-id)", async () => {
      const vmi = current.get('deb-gen')!;
      const oldMac = poolMac.get('deb-gen')!;
      const seed = seedOf(vmi);
      assert.match(await seedFile(seed, 'network-config'), new RegExp(`macaddress: "${oldMac}"`));
      const oldId = (
        await exec('deb-gen', ['cat', '/var/lib/cloud/data/instance-id'])
      ).stdout.trim();
      assert.match(
        oldId,
        new RegExp(`^${(await getVm(server.client, 'deb-gen')).metadata.uid}-[0-9a-f]{12}$`),
      );
      genFirstInstanceId = oldId;
      const set = await server.cli(['set-mac', 'deb-gen', 'default', GEN_NEW, '--restart']);
      assert.equal(set.code, 0, set.stderr);
      assert.doesNotMatch(set.stderr, /Warning/, 'no user networkData, nothing to warn about');
      boots++;
    });

    test("restore-by-restart does not hold: the drift is back, and the condition says the guest's OS sets it, naming the file", async (t) => {
      const first = current.get('deb-pin')!;
      const record = await wait('deb-pin: the drift is back and explained', async () => {
        const vmi = await getVmi(server.client, 'deb-pin');
        const r =
          vmi?.metadata.uid !== first.metadata.uid &&
          vmi?.status?.interfaces?.[0]?.guestMacMismatch;
        if (r && r.cause === 'GuestOSConfiguration' && r.setBy) {
          current.set('deb-pin', vmi!);
          return r;
        }
        return undefined;
      });
      t.diagnostic(`deb-pin: drift back and explained at ${elapsed()}`);
      assertPinnedByInterfaces(record, ROGUE, poolMac.get('deb-pin')!);
      const vm = await wait('deb-pin: the VM shows the condition', async () => {
        const v = await getVm(server.client, 'deb-pin');
        return conditionOf(v, 'GuestMACMismatch')?.reason === 'GuestOSConfiguration' && v;
      });
      assertPinnedMessage(vm, ROGUE);
      assert.equal(
        await guestMac(server.client, 'deb-pin'),
        ROGUE,
        'ifupdown set it again at boot',
      );

      await server.client.adoptGuestMac(NS, 'deb-pin');
      assert.equal(
        specMacs(await getVm(server.client, 'deb-pin'))[0],
        ROGUE,
        'adopted into the manifest',
      );
      await restart('deb-pin');
    });

    test('user networkData matching the old MAC, applied anyway: the check fails naming lease and address and the matching line', async (t) => {
      const first = current.get('deb-ncfg')!;
      const second = await nextInstance('deb-ncfg', first.metadata.uid);
      current.set('deb-ncfg', second);
      assert.equal(second.status?.interfaces?.[0]?.mac, NCFG_NEW);
      const vm = await wait('deb-ncfg: the connectivity check', async () => {
        const v = await getVm(server.client, 'deb-ncfg');
        return conditionOf(v, 'ConnectivityCheck') && v;
      });
      t.diagnostic(`deb-ncfg: check done at ${elapsed()}`);
      assertStaleMatchCheck(vm, NCFG_OLD);
      // The guest itself: its NIC has the new MAC and no address, as the check says.
      assert.equal(await guestMac(server.client, 'deb-ncfg'), NCFG_NEW);
      const addr = await exec('deb-ncfg', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      assert.equal(addr.stdout.trim(), '', `no IPv4 address on eth0: ${addr.stdout}`);
    });

    test('the generated network-config after the restart: the guest is configured and reachable on the new MAC (the check passes), and the config it was served carries the new MAC', async (t) => {
      const first = current.get('deb-gen')!;
      const oldMac = poolMac.get('deb-gen')!;
      const vmi = await booted('deb-gen', first.metadata.uid);
      current.set('deb-gen', vmi);
      t.diagnostic(`deb-gen: up on the new MAC at ${elapsed()}`);
      assert.equal(vmi.status?.interfaces?.[0]?.mac, GEN_NEW, 'the VMI shows the new MAC');
      assert.equal(networkStatus(await launcherPod(server.client, 'deb-gen'))[0]?.mac, GEN_NEW);
      assert.equal(await guestMac(server.client, 'deb-gen'), GEN_NEW);
      assert.match(vmi.status?.interfaces?.[0]?.ipAddress ?? '', /^198\.18\.63\.\d+$/);
      const vm = await wait('deb-gen: the connectivity check', async () => {
        const v = await getVm(server.client, 'deb-gen');
        return conditionOf(v, 'ConnectivityCheck') && v;
      });
      const check = conditionOf(vm, 'ConnectivityCheck')!;
      assert.equal(check.status, 'True', check.message);
      assert.match(check.message ?? '', new RegExp(GEN_NEW));
      assert.ok(await reaches(server.client, 'deb-gen', GATEWAY), 'deb-gen reaches its gateway');

      // The seed the runtime wrote for this instance: the new MAC, and a new instance-id.
      const seed = seedOf(vmi);
      const config = await seedFile(seed, 'network-config');
      assert.match(config, new RegExp(`macaddress: "${GEN_NEW}"`));
      assert.doesNotMatch(config, new RegExp(oldMac));
      const metaData = await seedFile(seed, 'meta-data');
      const id = /instance-id: "([^"]+)"/.exec(metaData)?.[1];
      assert.ok(id && id !== genFirstInstanceId, `a new instance-id on the seed: ${metaData}`);
      // Inside the guest: the seed as it reads it, the instance cloud-init ran for, and what it rendered.
      const inGuest = await exec('deb-gen', [
        'sh',
        '-c',
        'mkdir -p /run/harrow-seed && mount -r LABEL=cidata /run/harrow-seed && cat /run/harrow-seed/network-config; s=$?; umount /run/harrow-seed; exit $s',
      ]);
      assert.equal(inGuest.exitCode, 0, inGuest.stderr);
      assert.equal(inGuest.stdout, config, 'the guest reads the same network-config');
      const ranFor = await exec('deb-gen', ['cat', '/var/lib/cloud/data/instance-id']);
      assert.equal(ranFor.stdout.trim(), id, 'cloud-init applied the new instance');
      const rules = await exec('deb-gen', ['cat', '/etc/udev/rules.d/70-persistent-net.rules']);
      assert.match(rules.stdout, new RegExp(GEN_NEW), rules.stdout);
      assert.doesNotMatch(rules.stdout, new RegExp(oldMac), rules.stdout);
    });

    test('adopt + restart: pod, VMI and guest on one MAC, and connectivity', async (t) => {
      const second = current.get('deb-pin')!;
      const vmi = await booted('deb-pin', second.metadata.uid);
      t.diagnostic(`deb-pin: up on the adopted MAC at ${elapsed()}`);
      const status = vmi.status!.interfaces![0]!;
      assert.equal(status.mac, ROGUE, 'the VMI has the adopted MAC');
      assert.equal(
        networkStatus(await launcherPod(server.client, 'deb-pin'))[0]?.mac,
        ROGUE,
        'the pod has it',
      );
      assert.equal(await guestMac(server.client, 'deb-pin'), ROGUE, 'the guest uses it');
      assert.equal(status.guestMacMismatch, undefined);
      const vm = await wait('deb-pin: the connectivity check', async () => {
        const v = await getVm(server.client, 'deb-pin');
        return conditionOf(v, 'ConnectivityCheck') && v;
      });
      const check = conditionOf(vm, 'ConnectivityCheck')!;
      assert.equal(check.status, 'True', check.message);
      assert.equal(conditionOf(vm, 'GuestMACMismatch'), undefined, 'no drift left');
      assert.ok(await reaches(server.client, 'deb-pin', GATEWAY), 'deb-pin reaches its gateway');
      assert.equal(await pingOk(server.client, 'deb-pin', GATEWAY), true);
    });

    test('deleting the VMs removes their overlays, seeds and persistent disks', async (t) => {
      t.diagnostic(`${boots} Debian boots in ${elapsed()}`);
      assert.ok(persistentDisks().length >= 2, `persistent disks: ${persistentDisks()}`);
      for (const vm of ['deb-pin', 'deb-gen', 'deb-ncfg'])
        await server.client.delete('VirtualMachine', { namespace: NS, name: vm });
      await waitFor(async () => guestDiskFiles().length === 0 && persistentDisks().length === 0, {
        timeoutMs: 180_000,
        message: `disk files gone: ${guestDiskFiles()} ${persistentDisks()}`,
      });
    });
  },
);
