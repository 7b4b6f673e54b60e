// The local image store: raw and qcow2 files in, resolved by name or by the alias a KubeVirt manifest uses.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openImageStore, probeImageFile, type ImageStore } from '../../src/images/store.ts';

/** The 32 bytes of a qcow2 header that matter here: magic, version, and the virtual size at offset 24. */
function qcow2Header(virtualSize: number): Buffer {
  const header = Buffer.alloc(512);
  header.write('QFI\xfb', 0, 'latin1');
  header.writeUInt32BE(3, 4);
  header.writeBigUInt64BE(BigInt(virtualSize), 24);
  return header;
}

describe('image store', () => {
  let dir: string;
  let store: ImageStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'harrow-images-'));
    store = openImageStore(join(dir, 'store'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('tells qcow2 from raw by the header, and reads the virtual size', async () => {
    await writeFile(join(dir, 'a.qcow2'), qcow2Header(10 * 1024 ** 3));
    await writeFile(join(dir, 'b.img'), Buffer.alloc(4096));
    assert.deepEqual(await probeImageFile(join(dir, 'a.qcow2')), {
      format: 'qcow2',
      virtualSizeBytes: 10 * 1024 ** 3,
    });
    assert.deepEqual(await probeImageFile(join(dir, 'b.img')), {
      format: 'raw',
      virtualSizeBytes: 4096,
    });
  });

  it('imports a copy, read-only, and resolves it by name and by alias (a bare name means :latest)', async () => {
    const image = await store.import('fedora', join(dir, 'a.qcow2'), {
      aliases: ['quay.io/containerdisks/fedora:latest'],
    });
    assert.equal(image.format, 'qcow2');
    assert.equal((await stat(image.path)).mode & 0o777, 0o444);
    assert.ok((await stat(join(dir, 'a.qcow2'))).isFile(), 'the source file is left in place');
    assert.equal((await store.resolve('fedora'))?.name, 'fedora');
    assert.equal((await store.resolve('quay.io/containerdisks/fedora:latest'))?.name, 'fedora');
    assert.equal((await store.resolve('quay.io/containerdisks/fedora'))?.name, 'fedora');
    assert.equal(await store.resolve('quay.io/containerdisks/fedora:40'), undefined);
  });

  it('refuses a name or alias another image holds, and bad names', async () => {
    await assert.rejects(
      store.import('other', join(dir, 'b.img'), {
        aliases: ['quay.io/containerdisks/fedora:latest'],
      }),
      /already used by image fedora/,
    );
    await assert.rejects(store.import('Bad_Name', join(dir, 'b.img')), /image name/);
    await assert.rejects(
      store.import('ok', join(dir, 'b.img'), { aliases: ['has space'] }),
      /alias/,
    );
  });

  it('lists and deletes: the record and the file go together', async () => {
    await store.import('scratch', join(dir, 'b.img'));
    assert.deepEqual(
      (await store.list()).map((i) => [i.name, i.format]),
      [
        ['fedora', 'qcow2'],
        ['scratch', 'raw'],
      ],
    );
    assert.equal(await store.delete('scratch'), true);
    assert.equal(await store.delete('scratch'), false);
    assert.deepEqual((await readdir(store.dir)).sort(), ['fedora.json', 'fedora.qcow2']);
  });
});
