// mkfs.ext4 wrapper: turns a directory into an ext4 disk image without mounting it (`-d`).
import { run } from './command.ts';

export async function ext4FromDirectory(
  directory: string,
  target: string,
  sizeBytes: number,
  label: string,
): Promise<void> {
  await run(
    'mkfs.ext4',
    ['-q', '-F', '-L', label, '-d', directory, target, `${Math.ceil(sizeBytes / 1024)}k`],
    { timeoutMs: 600_000 },
  );
}
