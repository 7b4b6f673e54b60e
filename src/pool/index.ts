// Public surface of the MAC pool allocator.
export { DEFAULT_MAC_RANGE, MacPoolAllocator } from './allocator.ts';
export type {
  MacPoolOptions,
  MacPoolStats,
  MacRange,
  MacState,
  MacStateInfo,
} from './allocator.ts';
export { PoolConfigError, PoolError, PoolExhaustedError } from './errors.ts';
export type { PoolErrorCode } from './errors.ts';
export { RangeLocator, usableAddresses } from './range-usage.ts';
export type { RangeSlot } from './range-usage.ts';
