import { describe, expect } from 'vitest';
import { coordinatorTest as test } from './coordinator-test-fixture';

describe('a coordinator restored from an older backup (LOG_ROLLBACK)', () => {
  test("detects a node's verified tree it does not hold, even after logging past its size, and freezes its log", ({ network }) => {
    const { coordinator, store } = network;
    network.submit(['health']);
    network.submit(['health']);
    const size = coordinator.log.size;
    // The node verified a tree of this size with another root: this log was restored and has grown since.
    const session = network.attach('justice');
    coordinator.detach(session);
    coordinator.attach({ ...session, knownTreeSize: size, knownTreeRoot: new Uint8Array(32).fill(7) });
    const message = `the coordinator's log has ${size} entries but not the tree of ${size} that node justice verified: this coordinator was restored from an older backup; restore a backup at least as new (docs/operations.md "Backup and restore"); it accepts no query until then`;
    expect(() => network.submit(['health'])).toThrowFedlabError('LOG_ROLLBACK', message);
    expect(coordinator.rolledBack).toEqual({ nodeId: 'justice', nodeSize: size, ownSize: size, forked: true });
    // Nothing more enters the log: a checkpoint is dropped, not appended.
    network.checkpoint('health', 5, new Uint8Array(64).fill(1));
    expect(coordinator.log.size).toBe(size);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM log_leaves').get()).toEqual({ n: size });
  });

  test('accepts a node whose verified tree is a prefix of its log', ({ network }) => {
    const { coordinator } = network;
    network.submit(['health']);
    const root = coordinator.log.rootAt(1);
    network.submit(['health']);
    const session = network.attach('justice');
    coordinator.detach(session);
    coordinator.attach({ ...session, knownTreeSize: 1, knownTreeRoot: root });
    expect(coordinator.rolledBack).toBeUndefined();
    expect(() => network.submit(['health'])).not.toThrow();
  });
});
