// GNU cpio wrapper: writes a reproducible newc archive (the initramfs format the kernel unpacks).
import { run } from './command.ts';

/**
 * Archives `entries` (paths relative to `root`, in the given order) into `archive`.
 * `--reproducible` zeroes device and inode numbers; owner is forced to root.
 */
export async function createNewcArchive(
  root: string,
  entries: readonly string[],
  archive: string,
): Promise<void> {
  await run(
    'cpio',
    ['--create', '--format=newc', '--reproducible', '--owner=0:0', '--quiet', `--file=${archive}`],
    {
      cwd: root,
      input: entries.map((entry) => `${entry}\n`).join(''),
      timeoutMs: 120_000,
    },
  );
}
