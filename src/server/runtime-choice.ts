// Picks the runtime: qemu where the machine allows it (root, QEMU, the guest image), else sim — and says why.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime/types.ts';
import { createSimRuntime } from '../runtime/sim/index.ts';

export type RuntimeChoice = 'sim' | 'qemu' | 'auto';

export async function chooseRuntime(
  choice: RuntimeChoice,
  context: { dataDir: string; logger: Logger },
): Promise<{ runtime: Runtime; note?: string }> {
  if (choice === 'sim') return { runtime: createSimRuntime() };
  const qemu = await import('../runtime/qemu/index.ts');
  const available = await qemu.qemuAvailable();
  if (!available.ok) {
    if (choice === 'qemu') throw new Error(`--runtime qemu: ${available.why}`);
    const note = `using the sim runtime: real guests need ${available.why}`;
    context.logger.warn(note);
    return { runtime: createSimRuntime(), note };
  }
  const image = await qemu.buildGuestImage({ cacheDir: join(context.dataDir, 'guest') });
  const runtime = await qemu.createQemuRuntime({ instanceId: 'main', stateDir: join(context.dataDir, 'qemu'), image });
  return { runtime };
}
