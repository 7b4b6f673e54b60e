// Harrow's local image store: the disk images `containerDisk` volumes name (a container registry's role), one
// directory of immutable image files, each with a JSON record of its names, format, size and how it boots.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type ImageFormat = 'raw' | 'qcow2';

/** How a guest boots from the image: its own boot loader (firmware), or the host's cloud kernel with root on the disk. */
export type ImageBoot = (
  { type: 'firmware' } | { type: 'kernel'; kernel: string; initrd: string; append: string }
) & {
  /**
   * How long a guest of this image may take from start to its guest agent and DHCP lease (what the connectivity check
   * allows); absent: the default for an operating system on a disk (OS_DISK_BOOT_TIMEOUT_SECONDS).
   */
  bootTimeoutSeconds?: number;
};

export interface ImageRecord {
  /** The image's own name (a DNS-1123 label), e.g. `debian-12`. */
  name: string;
  /** Other names manifests may use, e.g. `quay.io/containerdisks/debian:12`. */
  aliases: string[];
  format: ImageFormat;
  /** File name inside the store directory. */
  file: string;
  virtualSizeBytes: number;
  boot: ImageBoot;
  /** Where it came from: `build:debian`, `import:/path/file.qcow2`. */
  source: string;
  /** Content key of a built image (recipe + package versions), to reuse an identical build. */
  contentKey?: string;
  /** name=version of the packages a built image was made from. */
  packages?: string[];
  created: string;
}

export interface ResolvedImage extends ImageRecord {
  /** Absolute path of the image file. */
  path: string;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** An alias is an image reference: registry/repository:tag (or @digest) characters only. */
const ALIAS = /^[a-z0-9][a-z0-9._\-/:@]*$/;
const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);

export class ImageStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageStoreError';
  }
}

/** The store every Harrow on this host shares (like a container runtime's image store), unless told otherwise. */
export function defaultImageDir(): string {
  return process.env.HARROW_IMAGE_DIR ?? join(homedir(), '.cache', 'harrow', 'images');
}

export function checkImageName(name: string): string {
  if (name.length > 63 || !NAME.test(name))
    throw new ImageStoreError(
      `image name ${JSON.stringify(name)}: must be lower-case letters, digits, '-' or '.', start and end with a letter or digit, at most 63 characters`,
    );
  return name;
}

export function checkAlias(alias: string): string {
  if (alias.length > 255 || !ALIAS.test(alias))
    throw new ImageStoreError(`image alias ${JSON.stringify(alias)}: not an image reference`);
  return alias;
}

/** A reference `name` also matches `name:latest` the way container tools default the tag. */
function referenceForms(reference: string): string[] {
  const lastSegment = reference.split('/').pop() ?? reference;
  return lastSegment.includes(':') || lastSegment.includes('@')
    ? [reference]
    : [reference, `${reference}:latest`];
}

/** The format and virtual size, read from the file's header (qcow2) or its length (raw). */
export async function probeImageFile(
  path: string,
): Promise<{ format: ImageFormat; virtualSizeBytes: number }> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(32);
    const { bytesRead } = await handle.read(header, 0, 32, 0);
    if (bytesRead >= 32 && header.subarray(0, 4).equals(QCOW2_MAGIC)) {
      return { format: 'qcow2', virtualSizeBytes: Number(header.readBigUInt64BE(24)) };
    }
    const { size } = await handle.stat();
    return { format: 'raw', virtualSizeBytes: size };
  } finally {
    await handle.close();
  }
}

export interface ImportOptions {
  aliases?: string[];
  boot?: ImageBoot;
  source?: string;
  contentKey?: string;
  packages?: string[];
  /** Move `file` into the store instead of copying it (a build's own output, on the same file system). */
  takeFile?: boolean;
}

export interface ImageStore {
  readonly dir: string;
  list(): Promise<ResolvedImage[]>;
  /** The image a reference names (its name or one of its aliases), or undefined. */
  resolve(reference: string): Promise<ResolvedImage | undefined>;
  /** Copies (or hard-links, when on the same file system) `file` into the store under `name`. */
  import(name: string, file: string, options?: ImportOptions): Promise<ResolvedImage>;
  delete(name: string): Promise<boolean>;
}

export function openImageStore(dir: string = defaultImageDir()): ImageStore {
  const recordPath = (name: string): string => join(dir, `${name}.json`);

  const read = async (name: string): Promise<ResolvedImage | undefined> => {
    try {
      const record = JSON.parse(await readFile(recordPath(name), 'utf8')) as ImageRecord;
      const path = join(dir, record.file);
      await stat(path);
      return { ...record, path };
    } catch {
      return undefined;
    }
  };

  const list = async (): Promise<ResolvedImage[]> => {
    let files: string[];
    try {
      files = await readdir(dir);
    } catch {
      return [];
    }
    const images: ResolvedImage[] = [];
    for (const file of files.sort()) {
      if (!file.endsWith('.json') || file.startsWith('.')) continue;
      const image = await read(file.slice(0, -'.json'.length));
      if (image) images.push(image);
    }
    return images;
  };

  const resolve = async (reference: string): Promise<ResolvedImage | undefined> => {
    const forms = referenceForms(reference);
    const images = await list();
    return (
      images.find((i) => forms.includes(i.name)) ??
      images.find((i) => i.aliases.some((a) => forms.includes(a)))
    );
  };

  return {
    dir,
    list,
    resolve,
    async import(name, file, options = {}) {
      checkImageName(name);
      const aliases = [...new Set(options.aliases ?? [])].map(checkAlias);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const taken = (await list()).find(
        (i) =>
          i.name !== name &&
          (aliases.includes(i.name) || i.aliases.some((a) => a === name || aliases.includes(a))),
      );
      if (taken)
        throw new ImageStoreError(
          `image ${name}: a name or alias is already used by image ${taken.name}; delete it first`,
        );
      const { format, virtualSizeBytes } = await probeImageFile(file);
      const target = `${name}.${format}`;
      const partial = join(dir, `.${target}.${randomBytes(4).toString('hex')}.partial`);
      if (options.takeFile) await rename(file, partial);
      else await copyFile(file, partial, fsConstants.COPYFILE_FICLONE);
      // Images are immutable: guests write to overlays or their own copies, never to the store's file.
      await chmod(partial, 0o444);
      const previous = await read(name);
      await rename(partial, join(dir, target));
      if (previous && previous.file !== target) await rm(previous.path, { force: true });
      const record: ImageRecord = {
        name,
        aliases,
        format,
        file: target,
        virtualSizeBytes,
        boot: options.boot ?? { type: 'firmware' },
        source: options.source ?? `import:${file}`,
        ...(options.contentKey ? { contentKey: options.contentKey } : {}),
        ...(options.packages ? { packages: options.packages } : {}),
        created: new Date().toISOString(),
      };
      const recordPartial = `${recordPath(name)}.${randomBytes(4).toString('hex')}.partial`;
      await writeFile(recordPartial, JSON.stringify(record, null, 2) + '\n');
      await rename(recordPartial, recordPath(name));
      return { ...record, path: join(dir, target) };
    },
    async delete(name) {
      const image = await read(name);
      await rm(recordPath(name), { force: true });
      if (!image) return false;
      await rm(image.path, { force: true });
      return true;
    },
  };
}
