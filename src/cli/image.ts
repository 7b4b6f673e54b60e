// `harrow image build`: builds (or reuses) the qemu runtime's guest kernel + initramfs ahead of the first start.
import { resolve } from 'node:path';
import { expectPositionals } from './args.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';

export const imageCommand: Command = {
  name: 'image',
  summary: "Build the qemu runtime's guest image (kernel + initramfs) into the data directory",
  usage: `Usage: harrow image build [--data-dir DIR]

Builds the guest image from the installed Debian packages (linux-image-cloud-amd64, busybox-static, qemu-guest-agent)
into DIR/guest (default .harrow/guest), where \`harrow serve --runtime qemu\` finds it. Reuses an identical image.`,
  options: { 'data-dir': { type: 'string' } },
  async run(ctx, args) {
    const [sub] = expectPositionals(args.positionals, ['build'], 'image');
    if (sub !== 'build')
      throw new UsageError(
        `image: unknown subcommand ${JSON.stringify(sub)} (only build)`,
        'image',
      );
    const dataDir = resolve(
      ctx.io.cwd,
      (args.values['data-dir'] as string | undefined) ?? '.harrow',
    );
    const { buildGuestImage, defaultGuestCacheDir } = await import('../runtime/qemu/image.ts');
    const image = await buildGuestImage({
      cacheDir: defaultGuestCacheDir(dataDir),
      onProgress: (m) => ctx.io.stderr.write(`${m}\n`),
    });
    ctx.io.stdout.write(`kernel: ${image.kernel}\ninitrd: ${image.initrd}\n`);
    return 0;
  },
};
