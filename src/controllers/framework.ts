// The controller runner's public surface (controller-runtime style: its root package re-exports the pieces): keys,
// informers, controllers with their queues, the manager, tombstones. Each piece lives in runner/.
export { objectKey, refFor, splitKey } from './runner/keys.ts';
export {
  changed,
  Informer,
  InformerView,
  type InformerEvent,
  type SharedInformer,
} from './runner/informer.ts';
export {
  Controller,
  type ControllerOptions,
  type Reconcile,
  type Result,
  type RunnerContext,
} from './runner/controller.ts';
export { ControllerManager, type ManagerOptions } from './runner/manager.ts';
export { Tombstones } from './runner/tombstones.ts';
