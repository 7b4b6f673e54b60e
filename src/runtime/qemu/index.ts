// Public surface of the qemu runtime.
export { qemuAvailable, REQUIRED_PACKAGES } from './available.ts';
export { buildGuestImage, defaultGuestCacheDir } from './image.ts';
export type { BuildGuestImageOptions, GuestImage } from './image.ts';
export { MissingPackageError } from './dpkg.ts';
export { createQemuRuntime } from './qemu-runtime.ts';
export type { QemuRuntime, QemuRuntimeOptions } from './qemu-runtime.ts';
