import path from 'node:path';
import { storeTest } from '../store-test-fixtures';
import { CoordinatorStore } from './coordinator-store';

/** Test fixtures: `store`, a coordinator database (a real SQLite file) in the temporary `dir`, closed afterwards. */
export const coordinatorStoreTest = storeTest.extend<{ store: CoordinatorStore }>({
  store: async ({ dir }, use) => {
    const store = new CoordinatorStore(path.join(dir, 'coordinator.db'));
    await use(store);
    if (store.db.open) store.close();
  },
});
