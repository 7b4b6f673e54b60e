// Builds the guest's kernel + initramfs from installed Debian packages into a content-addressed cache.
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import {
  access,
  chmod,
  copyFile,
  mkdir,
  readFile,
  rename,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runForBuffer } from './command.ts';
import { createNewcArchive } from './cpio.ts';
import { dependsOf, filesOf, requirePackage, type InstalledPackage } from './dpkg.ts';
import { GUEST_AGENT_PATH, GUEST_MODULE_DIR, GUEST_MODULES, guestScripts } from './guest-init.ts';
import { sharedLibraries } from './ldd.ts';

/** Bump when the layout or the scripts' meaning changes in a way the content hash would not see. */
const BUILDER_VERSION = 'harrow-guest-1';
const KERNEL_META_PACKAGE = 'linux-image-cloud-amd64';

export interface GuestImage {
  kernel: string;
  initrd: string;
}

export interface BuildGuestImageOptions {
  /** Where images are kept; defaults to `<dataDir>/guest` or `~/.cache/harrow/guest`. */
  cacheDir?: string;
  onProgress?: (message: string) => void;
}

export function defaultGuestCacheDir(dataDir?: string): string {
  return dataDir ? join(dataDir, 'guest') : join(homedir(), '.cache', 'harrow', 'guest');
}

/** One file of the initramfs: its path in the guest and its bytes. */
export interface ImageEntry {
  path: string;
  mode: number;
  content: Buffer;
}

interface ImageInputs {
  packages: InstalledPackage[];
  kernel: string;
  entries: ImageEntry[];
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** The content hash that names an image: same packages' bytes and scripts → same name. */
export function imageHash(entries: readonly ImageEntry[]): string {
  const hash = createHash('sha256').update(BUILDER_VERSION);
  for (const entry of [...entries].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  )) {
    hash.update(`\n${entry.path}\0${entry.mode.toString(8)}\0${sha256(entry.content)}`);
  }
  return hash.digest('hex');
}

/** Every directory the entries need, parents before children, plus the entries, sorted as cpio must see them. */
export function archiveOrder(paths: readonly string[]): string[] {
  const all = new Set<string>();
  for (const path of paths) {
    const relative = path.replace(/^\/+/, '');
    all.add(relative);
    let parent = posix.dirname(relative);
    while (parent !== '.' && parent !== '/') {
      all.add(parent);
      parent = posix.dirname(parent);
    }
  }
  return [...all].sort();
}

export async function kernelModule(
  files: readonly string[],
  name: string,
  kernelPackage: string,
): Promise<Buffer> {
  const candidates = ['.ko', '.ko.xz', '.ko.zst'].map((suffix) => `/${name}${suffix}`);
  const found = files.find(
    (file) => file.includes('/modules/') && candidates.some((suffix) => file.endsWith(suffix)),
  );
  if (!found) throw new Error(`kernel module ${name} is not in package ${kernelPackage}`);
  if (found.endsWith('.ko')) return readFile(found);
  if (found.endsWith('.xz')) return runForBuffer('xz', ['--decompress', '--stdout', found]);
  return runForBuffer('zstd', ['--decompress', '--stdout', '--quiet', found]);
}

async function kernelPackageOf(metaPackage: string): Promise<string> {
  const name = (await dependsOf(metaPackage)).find((n) => n.startsWith('linux-image-'));
  if (!name) throw new Error(`${metaPackage} depends on no linux-image package`);
  return name;
}

export interface CloudKernel {
  packageName: string;
  version: string;
  /** e.g. 6.1.0-57-cloud-amd64 */
  release: string;
  kernel: string;
  /** The host's initramfs for that kernel (initramfs-tools): mounts a root disk by root=. */
  initrd: string;
  modulesDir: string;
}

/** The host's cloud kernel, its initramfs and modules: what boots a disk image whose root is the whole disk. */
export async function cloudKernel(): Promise<CloudKernel> {
  await requirePackage(KERNEL_META_PACKAGE, 'the guest kernel');
  const packageName = await kernelPackageOf(KERNEL_META_PACKAGE);
  const { version } = await requirePackage(packageName, 'the guest kernel');
  const files = await filesOf(packageName);
  const kernel = files.find((file) => /^\/boot\/vmlinuz-/.test(file));
  if (!kernel) throw new Error(`package ${packageName} has no /boot/vmlinuz-*`);
  const release = kernel.replace(/^\/boot\/vmlinuz-/, '');
  const initrd = `/boot/initrd.img-${release}`;
  if (!(await exists(initrd)))
    throw new Error(`${initrd} is missing: update-initramfs -c -k ${release}`);
  const modulesDir = (await exists(`/usr/lib/modules/${release}/modules.dep`))
    ? `/usr/lib/modules/${release}`
    : `/lib/modules/${release}`;
  return { packageName, version, release, kernel, initrd, modulesDir };
}

async function gatherInputs(progress: (message: string) => void): Promise<ImageInputs> {
  const packages: InstalledPackage[] = [];
  packages.push(await requirePackage(KERNEL_META_PACKAGE, 'the guest kernel'));
  const kernelPackageName = await kernelPackageOf(KERNEL_META_PACKAGE);
  packages.push(await requirePackage(kernelPackageName, 'the guest kernel'));
  packages.push(await requirePackage('busybox-static', 'the guest userland'));
  packages.push(
    await requirePackage(
      'qemu-guest-agent',
      'the guest agent (guest-exec, guest-network-get-interfaces)',
    ),
  );
  packages.push(await requirePackage('cpio', 'building the guest initramfs'));

  const kernelFiles = await filesOf(kernelPackageName);
  const kernel = kernelFiles.find((file) => /^\/boot\/vmlinuz-/.test(file));
  if (!kernel) throw new Error(`package ${kernelPackageName} has no /boot/vmlinuz-*`);
  progress(`kernel ${kernel} (${kernelPackageName})`);

  const busybox = (await filesOf('busybox-static')).find((file) => file.endsWith('/bin/busybox'));
  if (!busybox) throw new Error('package busybox-static has no bin/busybox');
  const agent = (await filesOf('qemu-guest-agent')).find((file) => file.endsWith('/sbin/qemu-ga'));
  if (!agent) throw new Error('package qemu-guest-agent has no sbin/qemu-ga');

  const entries: ImageEntry[] = [];
  entries.push({ path: '/bin/busybox', mode: 0o755, content: await readFile(busybox) });
  entries.push({ path: GUEST_AGENT_PATH, mode: 0o755, content: await readFile(agent) });
  // Libraries go where ldd found them: the dynamic loader and the binary's RUNPATH-free lookup expect those paths.
  for (const library of await sharedLibraries(agent)) {
    entries.push({ path: library, mode: 0o755, content: await readFile(library) });
  }
  for (const module of GUEST_MODULES) {
    entries.push({
      path: `${GUEST_MODULE_DIR}/${module}.ko`,
      mode: 0o644,
      content: await kernelModule(kernelFiles, module, kernelPackageName),
    });
  }
  for (const script of guestScripts()) {
    entries.push({ path: script.path, mode: script.mode, content: Buffer.from(script.content) });
  }
  return { packages, kernel, entries };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Stages the entries with fixed mtimes and modes, archives them sorted, gzips without a timestamp. */
export async function writeInitramfs(
  entries: readonly ImageEntry[],
  target: string,
): Promise<void> {
  const staging = join(dirname(target), `.build-${randomBytes(6).toString('hex')}`);
  try {
    for (const entry of entries) {
      const file = join(staging, entry.path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, entry.content);
      await chmod(file, entry.mode);
    }
    const order = archiveOrder(entries.map((entry) => entry.path));
    for (const relative of order) {
      const path = join(staging, relative);
      if (!entries.some((entry) => entry.path.replace(/^\/+/, '') === relative))
        await chmod(path, 0o755);
      await utimes(path, 0, 0);
    }
    const archive = join(staging, '..', `${posix.basename(staging)}.cpio`);
    await createNewcArchive(staging, order, archive);
    const compressed = gzipSync(await readFile(archive), { level: 6 });
    await rm(archive, { force: true });
    const partial = `${target}.${randomBytes(4).toString('hex')}.partial`;
    await writeFile(partial, compressed);
    await rename(partial, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Builds (or reuses) the guest image; only Debian packages' files and Harrow's scripts go in. */
export async function buildGuestImage(options: BuildGuestImageOptions = {}): Promise<GuestImage> {
  const cacheDir = options.cacheDir ?? defaultGuestCacheDir();
  const progress = options.onProgress ?? (() => {});
  await mkdir(cacheDir, { recursive: true });
  const inputs = await gatherInputs(progress);

  const kernelBytes = await readFile(inputs.kernel);
  const kernel = join(cacheDir, `vmlinuz-${sha256(kernelBytes).slice(0, 16)}`);
  if (!(await exists(kernel))) {
    const partial = `${kernel}.${randomBytes(4).toString('hex')}.partial`;
    await copyFile(inputs.kernel, partial);
    await rename(partial, kernel);
  }

  const initrd = join(cacheDir, `initrd-${imageHash(inputs.entries).slice(0, 16)}.cpio.gz`);
  if (await exists(initrd)) {
    progress(`reusing ${initrd}`);
  } else {
    progress(
      `building ${initrd} from ${inputs.packages.map((p) => `${p.name}=${p.version}`).join(', ')}`,
    );
    await writeInitramfs(inputs.entries, initrd);
    progress(`built ${initrd}`);
  }
  return { kernel, initrd };
}
