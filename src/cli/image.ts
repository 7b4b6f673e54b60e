// `harrow image`: builds the qemu runtime's boot image and the Debian disk image, and manages the local image store
// (import, list, delete) that containerDisk volumes name.
import { resolve } from 'node:path';
import { UsageError } from './errors.ts';
import { formatTable } from './table.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

export async function runImage(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const sub = args.positionals[0];
  const { openImageStore } = await import('../images/store.ts');
  const imageDir = args.values['image-dir'] as string | undefined;
  const store = openImageStore(imageDir ? resolve(ctx.io.cwd, imageDir) : undefined);
  const progress = (m: string): void => {
    ctx.io.stderr.write(`${m}\n`);
  };
  if (sub === 'build') {
    const [, kind = 'busybox'] = args.positionals;
    if (kind === 'debian') {
      const { buildDebianImage } = await import('../runtime/qemu/debian-image.ts');
      const image = await buildDebianImage({ store, onProgress: progress });
      ctx.io.stdout.write(`image: ${image.name}\nfile: ${image.path}\n`);
      return 0;
    }
    if (kind !== 'busybox')
      throw new UsageError(
        `image build: unknown image ${JSON.stringify(kind)} (busybox, debian)`,
        'image',
      );
    const dataDir = resolve(
      ctx.io.cwd,
      (args.values['data-dir'] as string | undefined) ?? '.harrow',
    );
    const { buildGuestImage, defaultGuestCacheDir } = await import('../runtime/qemu/image.ts');
    const image = await buildGuestImage({
      cacheDir: defaultGuestCacheDir(dataDir),
      onProgress: progress,
    });
    ctx.io.stdout.write(`kernel: ${image.kernel}\ninitrd: ${image.initrd}\n`);
    return 0;
  }
  if (sub === 'import') {
    const [, name, file] = args.positionals;
    const bootFlag = (args.values.boot as string | undefined) ?? 'firmware';
    if (bootFlag !== 'firmware' && bootFlag !== 'kernel')
      throw new UsageError(`image import: --boot must be firmware or kernel`, 'image');
    let boot: import('../images/store.ts').ImageBoot = { type: 'firmware' };
    if (bootFlag === 'kernel') {
      const { cloudKernel } = await import('../runtime/qemu/image.ts');
      const { DEBIAN_KERNEL_APPEND } = await import('../runtime/qemu/debian-image.ts');
      const k = await cloudKernel();
      boot = { type: 'kernel', kernel: k.kernel, initrd: k.initrd, append: DEBIAN_KERNEL_APPEND };
    }
    const timeoutFlag = args.values['boot-timeout'] as string | undefined;
    if (timeoutFlag !== undefined) {
      const seconds = Number(timeoutFlag);
      if (!/^[0-9]+$/.test(timeoutFlag) || seconds < 1 || seconds > 86_400)
        throw new UsageError(
          `image import: --boot-timeout must be a whole number of seconds from 1 to 86400, got ${JSON.stringify(timeoutFlag)}`,
          'image',
        );
      boot = { ...boot, bootTimeoutSeconds: seconds };
    }
    const image = await store.import(name!, resolve(ctx.io.cwd, file!), {
      aliases: (args.values.alias as string[] | undefined) ?? [],
      boot,
    });
    ctx.io.stdout.write(`image/${image.name} imported (${image.format}, ${image.path})\n`);
    return 0;
  }
  if (sub === 'delete') {
    const [, name] = args.positionals;
    if (!(await store.delete(name!))) {
      ctx.io.stderr.write(`image ${name} not found in ${store.dir}\n`);
      return 1;
    }
    ctx.io.stdout.write(`image/${name} deleted\n`);
    return 0;
  }
  const images = await store.list();
  if (args.globals.output === 'json') {
    ctx.io.stdout.write(JSON.stringify(images, null, 2) + '\n');
    return 0;
  }
  const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)}Gi`;
  ctx.io.stdout.write(
    formatTable(
      ['NAME', 'FORMAT', 'SIZE', 'BOOT', 'ALIASES'],
      images.map((i) => [
        i.name,
        i.format,
        gib(i.virtualSizeBytes),
        i.boot.type,
        i.aliases.join(',') || '<none>',
      ]),
    ),
  );
  return 0;
}
