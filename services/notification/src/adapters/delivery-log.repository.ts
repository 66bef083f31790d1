import type { ShardedDatabase } from '@mela/sharding';
import type { ResultSetHeader } from 'mysql2';
import type { DeliveryLog } from '../domain/notifier.js';

const route = (userId: string) =>
  ({ keyspace: 'customer', table: 'processed_events', key: userId }) as const;

/** `processed_events` on the user's shard: one row per (event, channel). */
export class DeliveryLogRepository implements DeliveryLog {
  readonly #db: ShardedDatabase;

  constructor(db: ShardedDatabase) {
    this.#db = db;
  }

  async begin(eventId: string, channel: string, userId: string): Promise<'done' | 'todo'> {
    const recorded = await this.#db.execute<ResultSetHeader>(
      route(userId),
      `INSERT INTO processed_events (event_id, channel, user_id, state, attempts, updated_at)
       VALUES (?, ?, ?, 'claimed', 1, UTC_TIMESTAMP(3))
       ON DUPLICATE KEY UPDATE attempts = attempts + 1, updated_at = UTC_TIMESTAMP(3)`,
      [eventId, channel, userId],
    );
    // 1: a new row, the usual case; 2: seen before, so ask whether it was finished.
    if (recorded.affectedRows === 1) return 'todo';
    const [row] = await this.#db.execute(
      route(userId),
      'SELECT state FROM processed_events WHERE event_id = ? AND channel = ?',
      [eventId, channel],
    );
    return row?.['state'] === 'done' ? 'done' : 'todo';
  }

  async finish(eventId: string, channel: string, userId: string): Promise<void> {
    await this.#db.execute(
      route(userId),
      `UPDATE processed_events SET state = 'done', updated_at = UTC_TIMESTAMP(3)
        WHERE event_id = ? AND channel = ?`,
      [eventId, channel],
    );
  }
}
