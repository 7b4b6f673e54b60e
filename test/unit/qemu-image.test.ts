// The guest image builder: Debian packages in, a reproducible content-addressed kernel + initramfs out.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  installedVersion,
  MissingPackageError,
  requirePackage,
} from '../../src/runtime/qemu/dpkg.ts';
import { archiveOrder, buildGuestImage, imageHash } from '../../src/runtime/qemu/image.ts';

interface CpioEntry {
  name: string;
  mode: number;
  uid: number;
  mtime: number;
  size: number;
}

/** Lists a newc archive (the kernel's initramfs format). */
function listNewc(archive: Buffer): CpioEntry[] {
  const entries: CpioEntry[] = [];
  let offset = 0;
  const align = (n: number): number => (n + 3) & ~3;
  for (;;) {
    const header = archive.subarray(offset, offset + 110).toString('ascii');
    assert.equal(header.slice(0, 6), '070701', `newc magic at ${offset}`);
    const field = (i: number): number => Number.parseInt(header.slice(6 + i * 8, 14 + i * 8), 16);
    const nameSize = field(11);
    const size = field(6);
    const name = archive.subarray(offset + 110, offset + 110 + nameSize - 1).toString('utf8');
    if (name === 'TRAILER!!!') return entries;
    entries.push({ name, mode: field(1), uid: field(2), mtime: field(5), size });
    offset = align(align(offset + 110 + nameSize) + size);
  }
}

const packagesPresent = async (): Promise<string | false> => {
  for (const name of ['linux-image-cloud-amd64', 'busybox-static', 'qemu-guest-agent', 'cpio']) {
    try {
      if (!(await installedVersion(name))) return `package ${name} is not installed`;
    } catch {
      return 'dpkg-query is not available';
    }
  }
  return false;
};

describe('guest image', () => {
  it('archives parents before children, sorted', () => {
    assert.deepEqual(
      archiveOrder(['/usr/sbin/qemu-ga', '/init', '/etc/harrow/udhcpc', '/etc/inittab']),
      [
        'etc',
        'etc/harrow',
        'etc/harrow/udhcpc',
        'etc/inittab',
        'init',
        'usr',
        'usr/sbin',
        'usr/sbin/qemu-ga',
      ],
    );
  });

  it('names an image by its content: order-insensitive, sensitive to bytes and modes', () => {
    const a = { path: '/a', mode: 0o755, content: Buffer.from('x') };
    const b = { path: '/b', mode: 0o644, content: Buffer.from('y') };
    assert.equal(imageHash([a, b]), imageHash([b, a]));
    assert.notEqual(imageHash([a, b]), imageHash([a, { ...b, content: Buffer.from('z') }]));
    assert.notEqual(imageHash([a, b]), imageHash([a, { ...b, mode: 0o755 }]));
  });

  it('tells the operator which package to install', async (t) => {
    if (!(await installedVersion('dpkg').catch(() => undefined)))
      return t.skip('dpkg-query is not available');
    await assert.rejects(requirePackage('harrow-no-such-package', 'a test'), (error: unknown) => {
      assert.ok(error instanceof MissingPackageError);
      assert.match(
        error.message,
        /^install harrow-no-such-package: apt-get install harrow-no-such-package/,
      );
      return true;
    });
  });

  describe('built from the installed Debian packages', () => {
    const dirs: string[] = [];
    let missing: string | false = false;
    before(async () => {
      missing = await packagesPresent();
    });
    after(async () => {
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    it('is reproducible (same name and bytes from two builds), reused when unchanged, with fixed mtimes and root owner', async (t) => {
      if (missing) return t.skip(missing);
      const first = await mkdtemp(join(tmpdir(), 'harrow-image-'));
      const second = await mkdtemp(join(tmpdir(), 'harrow-image-'));
      dirs.push(first, second);
      const a = await buildGuestImage({ cacheDir: first });
      const b = await buildGuestImage({ cacheDir: second });
      assert.equal(basename(a.initrd), basename(b.initrd));
      assert.match(basename(a.initrd), /^initrd-[0-9a-f]{16}\.cpio\.gz$/);
      assert.match(basename(a.kernel), /^vmlinuz-[0-9a-f]{16}$/);
      const bytes = await readFile(a.initrd);
      assert.ok(bytes.equals(await readFile(b.initrd)), 'two builds differ');

      const before = (await stat(a.initrd)).mtimeMs;
      const progress: string[] = [];
      const again = await buildGuestImage({
        cacheDir: first,
        onProgress: (message) => progress.push(message),
      });
      assert.deepEqual(again, a);
      assert.equal((await stat(a.initrd)).mtimeMs, before);
      assert.ok(
        progress.some((message) => message.startsWith('reusing')),
        progress.join('\n'),
      );

      const entries = listNewc(gunzipSync(bytes));
      const names = entries.map((entry) => entry.name);
      assert.deepEqual(names, [...names].sort());
      assert.ok(entries.every((entry) => entry.mtime === 0 && entry.uid === 0));
      for (const needed of [
        'init',
        'bin/busybox',
        'usr/sbin/qemu-ga',
        'lib/modules/harrow/virtio_net.ko',
        'lib/modules/harrow/virtio_console.ko',
        'lib/modules/harrow/virtio_blk.ko',
        'lib64/ld-linux-x86-64.so.2',
      ]) {
        assert.ok(names.includes(needed), `${needed} missing from the initramfs`);
      }
      assert.ok(
        names.some((name) => /libglib-2\.0\.so\.0$/.test(name)),
        'qemu-ga needs glib',
      );
      const init = entries.find((entry) => entry.name === 'init')!;
      assert.equal(init.mode & 0o777, 0o755);
    });
  });
});
