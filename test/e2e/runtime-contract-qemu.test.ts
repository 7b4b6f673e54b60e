// The qemu runtime passes the Runtime contract (test/unit/runtime-contract.ts) with a real busybox guest (root only;
// skipped with the reason otherwise).
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe } from 'node:test';
import { createQemuRuntime, qemuAvailable } from '../../src/runtime/qemu/index.ts';
import { runtimeContract } from '../unit/runtime-contract.ts';

const availability = await qemuAvailable();
if (availability.ok) {
  runtimeContract(
    'qemu',
    async () => {
      const stateDir = await mkdtemp('/tmp/harrow-rc-');
      const runtime = await createQemuRuntime({
        instanceId: `rc${process.pid}`,
        stateDir: join(stateDir, 's'),
      });
      return {
        runtime,
        cleanup: async () => {
          await runtime.destroyAll();
          await rm(stateDir, { recursive: true, force: true });
        },
      };
    },
    { bootTimeoutMs: 180_000 },
  );
} else {
  describe(
    'Runtime contract: qemu',
    { skip: `qemu runtime unavailable: ${availability.why}` },
    () => {},
  );
}
