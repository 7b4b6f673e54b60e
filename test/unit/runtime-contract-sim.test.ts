// The sim runtime passes the Runtime contract (test/unit/runtime-contract.ts); the qemu runtime runs it in test/e2e.
import { createSimRuntime } from '../../src/runtime/sim/index.ts';
import { runtimeContract } from './runtime-contract.ts';

runtimeContract(
  'sim',
  async () => {
    const runtime = createSimRuntime({ bootMs: 5 });
    return { runtime, cleanup: () => runtime.close() };
  },
  { bootTimeoutMs: 10_000 },
);
