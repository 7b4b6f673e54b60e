// genisoimage wrapper: the cloud-init NoCloud seed, an ISO 9660 volume labelled `cidata` holding user-data,
// meta-data and network-config.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from './command.ts';

export interface SeedFiles {
  'user-data': string;
  'meta-data': string;
  'network-config'?: string;
}

/** Writes the seed ISO to `target` (Rock Ridge and Joliet names, so cloud-init reads `user-data`, not USER_DAT). */
export async function writeNoCloudSeed(target: string, files: SeedFiles): Promise<void> {
  const staging = join(dirname(target), `.seed-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true, mode: 0o700 });
  try {
    const names: string[] = [];
    for (const [name, content] of Object.entries(files)) {
      if (content === undefined) continue;
      await writeFile(join(staging, name), content, { mode: 0o600 });
      names.push(name);
    }
    await run('genisoimage', [
      '-quiet',
      '-output',
      target,
      '-volid',
      'cidata',
      '-joliet',
      '-rock',
      ...names.map((name) => join(staging, name)),
    ]);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
