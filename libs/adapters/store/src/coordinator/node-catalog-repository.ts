import type { Database } from '../database';

/** The last dataset catalog each node sent (`node_catalogs`), as encoded `NodeCatalog` bytes. */
export class NodeCatalogRepository {
  constructor(private readonly db: Database) {}

  save(nodeId: string, catalog: Uint8Array, nowMs: number): void {
    this.db
      .prepare(
        'INSERT INTO node_catalogs (node_id, catalog, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT(node_id) DO UPDATE SET catalog = excluded.catalog, updated_at_ms = excluded.updated_at_ms',
      )
      .run(nodeId, Buffer.from(catalog), nowMs);
  }

  /** Every node's catalog, ordered by node id. */
  all(): Array<{ nodeId: string; catalog: Uint8Array }> {
    return (this.db.prepare('SELECT node_id, catalog FROM node_catalogs ORDER BY node_id').all() as Array<{ node_id: string; catalog: Buffer }>).map((r) => ({
      nodeId: r.node_id,
      catalog: r.catalog,
    }));
  }
}
