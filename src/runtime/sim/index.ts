// The sim runtime's public surface: an in-process Runtime with the same observable behaviour as qemu/.
export { createSimRuntime } from './sim-runtime.ts';
export type { SimRuntime, SimRuntimeOptions } from './sim-runtime.ts';
