// `harrow image`: builds the qemu runtime's boot image and the Debian disk image, and manages the local image store
// (import, list, delete) that containerDisk volumes name.
import { resolve } from 'node:path';
import { expectPositionals } from './args.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { formatTable } from './table.ts';

const SUBCOMMANDS = ['build', 'import', 'list', 'delete'];

export const imageCommand: Command = {
  name: 'image',
  aliases: ['images'],
  summary: 'Build guest images and manage the local image store (import, list, delete)',
  usage: `Usage: harrow image build [busybox|debian] [--data-dir DIR] [--image-dir DIR]
       harrow image import NAME FILE [--alias REF]... [--boot firmware|kernel] [--boot-timeout SECONDS]
                           [--image-dir DIR]
       harrow image list [--image-dir DIR] [-o json]
       harrow image delete NAME [--image-dir DIR]

build busybox (the default): the qemu runtime's fast boot image (kernel + busybox initramfs with the guest agent)
  from the installed Debian packages into DIR/guest.
build debian: a Debian 12 disk (systemd, ifupdown + isc-dhcp-client, cloud-init, qemu-guest-agent, openssh-server)
  from Debian's packages with mmdebstrap, into the image store as debian-12 with the aliases
  quay.io/containerdisks/debian:12 and debian:12. root logs in on the serial console without a password.
  An identical build (same recipe and package versions) is reused.
import: copies a raw or qcow2 disk into the store; --alias adds names manifests may use
  (containerDisk.image); --boot kernel boots it with the host's cloud kernel, root=/dev/vda (default: its own
  boot loader). --boot-timeout: how long its guests may take to reach their agent and DHCP lease (what the
  connectivity check after a MAC change waits; default 900 s for an OS on a disk).
The image store is --image-dir, else $HARROW_IMAGE_DIR, else ~/.cache/harrow/images (shared by every Harrow on
this host); the server lists its images as VirtualMachineImage (harrow.io/v1) objects.`,
  options: {
    'data-dir': { type: 'string' },
    'image-dir': { type: 'string' },
    alias: { type: 'string', multiple: true },
    boot: { type: 'string' },
    'boot-timeout': { type: 'string' },
  },
  async run(ctx, args) {
    const sub = args.positionals[0];
    if (!sub || !SUBCOMMANDS.includes(sub))
      throw new UsageError(
        `image: ${sub ? `unknown subcommand ${JSON.stringify(sub)}` : 'missing subcommand'} (${SUBCOMMANDS.join(', ')})`,
        'image',
      );
    const { openImageStore } = await import('../images/store.ts');
    const imageDir = args.values['image-dir'] as string | undefined;
    const store = openImageStore(imageDir ? resolve(ctx.io.cwd, imageDir) : undefined);
    const progress = (m: string): void => {
      ctx.io.stderr.write(`${m}\n`);
    };
    if (sub === 'build') {
      const [, kind = 'busybox'] = expectPositionals(
        args.positionals,
        ['build', 'kind'],
        'image',
        1,
      );
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
      const [, name, file] = expectPositionals(
        args.positionals,
        ['import', 'NAME', 'FILE'],
        'image',
      );
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
      const [, name] = expectPositionals(args.positionals, ['delete', 'NAME'], 'image');
      if (!(await store.delete(name!))) {
        ctx.io.stderr.write(`image ${name} not found in ${store.dir}\n`);
        return 1;
      }
      ctx.io.stdout.write(`image/${name} deleted\n`);
      return 0;
    }
    expectPositionals(args.positionals, ['list'], 'image');
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
  },
};
