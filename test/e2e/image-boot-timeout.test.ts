// `harrow image import --boot-timeout`: how long an image's guests may take to boot is a property of the image, kept in
// its store record (what the connectivity check after a MAC change waits); a bad value is refused naming the flag.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openImageStore } from '../../src/images/store.ts';
import { runCli } from './harness.ts';

describe('harrow image import --boot-timeout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'harrow-boot-timeout-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'disk.raw');
  writeFileSync(file, Buffer.alloc(1024 * 1024));
  const store = join(dir, 'store');

  test('the image record carries it; without it the OS-disk default applies', async () => {
    const r = await runCli([
      'image',
      'import',
      'slow',
      file,
      '--boot-timeout',
      '1200',
      '--image-dir',
      store,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await openImageStore(store).resolve('slow'))?.boot, {
      type: 'firmware',
      bootTimeoutSeconds: 1200,
    });
    const plain = await runCli(['image', 'import', 'plain', file, '--image-dir', store]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual((await openImageStore(store).resolve('plain'))?.boot, { type: 'firmware' });
  });

  test('a value that is not a whole number of seconds is refused, naming the flag; nothing is imported', async () => {
    for (const bad of ['0', '-5', '1.5', 'ten']) {
      const r = await runCli([
        'image',
        'import',
        'bad',
        file,
        `--boot-timeout=${bad}`,
        '--image-dir',
        store,
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /--boot-timeout must be a whole number of seconds/);
    }
    assert.equal(await openImageStore(store).resolve('bad'), undefined);
  });
});
