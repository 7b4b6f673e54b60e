// The SQLite store: the shared ResourceStore contract, then what only the SQLite implementation promises.
import { storeContract } from './store-contract.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';

storeContract('sqlite (in memory)', async () => {
  const store = await openSqliteStore(':memory:');
  return { store, cleanup: () => store.close(), compact: () => store.compact() };
});
