import path from 'node:path';
import { test as kit } from '@fedlab/test-kit';
import { CoordinatorStore } from './coordinator-store';

/** Test fixtures: `store`, a coordinator database (a real SQLite file) in the temporary `dir`, closed afterwards. */
export const coordinatorStoreTest = kit.extend<{ store: CoordinatorStore }>({
  store: async ({ tempDir: dir }, use) => {
    const store = new CoordinatorStore(path.join(dir, 'coordinator.db'));
    await use(store);
    if (store.db.open) store.close();
  },
});
