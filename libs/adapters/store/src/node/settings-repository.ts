import type { Database } from '../database';

/** The node's small durable facts in `fedlab_settings`, by key (e.g. the highest roster version accepted). */
export class SettingsRepository {
  readonly #get;
  readonly #set;

  constructor(db: Database) {
    this.#get = db.prepare<[string], string>('SELECT value FROM fedlab_settings WHERE key = ?').pluck();
    this.#set = db.prepare<[string, string]>('INSERT INTO fedlab_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  }

  /** The value stored under `key`, or undefined. */
  get(key: string): string | undefined {
    return this.#get.get(key);
  }

  /** Stores `value` under `key`, replacing any earlier value. */
  set(key: string, value: string): void {
    this.#set.run(key, value);
  }
}
