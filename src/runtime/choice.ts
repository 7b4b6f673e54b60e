// Picks the runtime: qemu where the machine allows it (root, QEMU, the guest image), else sim — and says why.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Underlay } from './qemu/vxlan.ts';
import type { Runtime } from './types.ts';
import { createSimRuntime } from './sim/index.ts';

/** Host objects are named after the data dir, so two servers on one host never share a namespace or a bridge. */
export function qemuInstanceId(dataDir: string): string {
  return 'h' + createHash('sha256').update(dataDir).digest('hex').slice(0, 8);
}

/** The qemu runtime's state directory inside a data dir. */
export const qemuStateDir = (dataDir: string): string => join(dataDir, 'qemu');

export type RuntimeChoice = 'sim' | 'qemu' | 'auto';

export async function chooseRuntime(
  choice: RuntimeChoice,
  context: {
    dataDir: string;
    logger: Logger;
    underlay?: Underlay;
    /** qemu: closing the runtime removes its guests, namespaces, bridges and state (QemuRuntimeOptions). */
    teardownOnClose?: boolean;
  },
): Promise<{ runtime: Runtime; note?: string }> {
  if (choice === 'sim') return { runtime: createSimRuntime() };
  const qemu = await import('./qemu/index.ts');
  const available = await qemu.qemuAvailable();
  if (!available.ok) {
    if (choice === 'qemu') throw new Error(`--runtime qemu: ${available.why}`);
    const note = `using the sim runtime: real guests need ${available.why}`;
    context.logger.warn(note);
    return { runtime: createSimRuntime(), note };
  }
  const image = await qemu.buildGuestImage({ cacheDir: qemu.defaultGuestCacheDir() });
  const instanceId = qemuInstanceId(context.dataDir);
  const runtime = await qemu.createQemuRuntime({
    instanceId,
    stateDir: qemuStateDir(context.dataDir),
    image,
    ...(context.underlay ? { underlay: context.underlay } : {}),
    ...(context.teardownOnClose ? { teardownOnClose: true } : {}),
  });
  return { runtime };
}
