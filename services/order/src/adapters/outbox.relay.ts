import { setTimeout as delay } from 'node:timers/promises';
import { eventHeaders, refusedRecord, type EventProducer } from '@mela/messaging';
import {
  contextOf,
  SpanKind,
  SpanStatusCode,
  startSpan,
  systemClock,
  traceparentHeader,
  traceparentOf,
  type Clock,
  type Logger,
  type Span,
} from '@mela/core';
import { toSqlTime, type ShardSession, type ShardedDatabase } from '@mela/sharding';
import type { ResultSetHeader } from 'mysql2';
import { Counter, Gauge, type Registry } from 'prom-client';
import { jsonText } from './sql-values.js';

export interface OutboxRelayOptions {
  readonly db: ShardedDatabase;
  /**
   * Makes the idempotent producer. After a failed publish the relay starts over with a new one
   * (a new producer id): a batch lost with the broker can leave a gap in the old producer's
   * sequence numbers that the broker refuses for good (OUT_OF_ORDER_SEQUENCE_NUMBER) — with
   * kafkajs (tulios/kafkajs#598) `npm run drill` found every email stopping after Kafka
   * restarted, until the order service itself was restarted.
   */
  readonly producer: () => EventProducer;
  readonly logger: Logger;
  readonly registry: Registry;
  /** @default 'customer' */
  readonly keyspace?: string;
  /** Idle wait between polls of an empty outbox. @default 250 */
  readonly pollMs?: number;
  /** Rows per Kafka batch. @default 200 */
  readonly batchSize?: number;
  /** Published rows are deleted after this long. @default 24 h */
  readonly retentionMs?: number;
  /** Per-shard leader lock, suffixed with the database name. @default 'mela.outbox-relay' */
  readonly lockName?: string;
  readonly clock?: Clock;
}

/**
 * Publishes outbox rows to Kafka and marks them sent. Each shard's outbox is relayed by one
 * replica at a time — the holder of a MySQL `GET_LOCK` on that shard, which the server frees
 * when its connection dies — so rows go out in commit order and replicas do not race each
 * other into duplicate storms. A publish that fails (Kafka down) is retried with backoff and
 * the rows simply wait; a relay that dies between publishing and marking causes duplicates,
 * which consumers dedupe by event id.
 */
export class OutboxRelay {
  readonly #options: OutboxRelayOptions;
  readonly #keyspace: string;
  readonly #loops: Promise<void>[] = [];
  #stopping = false;
  /** The producer in use; none after a failure until the next publish. */
  #producer: EventProducer | undefined;
  /** Sleeps a commit may cut short (a leader's poll) and those only stopping ends. */
  readonly #wakers = { commit: new Set<() => void>(), stop: new Set<() => void>() };
  readonly #metrics: {
    readonly published: Counter<'shard'>;
    readonly failures: Counter<'shard'>;
    readonly pending: Gauge<'shard'>;
    readonly oldest: Gauge<'shard'>;
    readonly parked: Gauge<'shard'>;
    readonly leader: Gauge<'shard'>;
  };

  constructor(options: OutboxRelayOptions) {
    this.#options = options;
    this.#keyspace = options.keyspace ?? 'customer';
    // Every relay metric is per shard.
    const perShard = { labelNames: ['shard'] as const, registers: [options.registry] };
    this.#metrics = {
      published: new Counter({
        name: 'outbox_published_total',
        help: 'Outbox events published to Kafka',
        ...perShard,
      }),
      failures: new Counter({
        name: 'outbox_publish_failures_total',
        help: 'Attempts to publish an outbox batch that failed (the rows are retried)',
        ...perShard,
      }),
      pending: new Gauge({
        name: 'outbox_pending_events',
        help: 'Outbox events committed but not yet published',
        ...perShard,
      }),
      oldest: new Gauge({
        name: 'outbox_oldest_pending_age_seconds',
        help: 'Age of the oldest unpublished outbox event (0 when none)',
        ...perShard,
      }),
      parked: new Gauge({
        name: 'outbox_parked_events',
        help: 'Outbox events Kafka refused for good (too large, invalid), set aside so the rest flow',
        ...perShard,
      }),
      leader: new Gauge({
        name: 'outbox_relay_leader',
        help: '1 when this replica relays the shard',
        ...perShard,
      }),
    };
  }

  start(): void {
    for (const shard of this.#options.db.shardNames(this.#keyspace))
      this.#loops.push(this.#lead(shard));
  }

  /** Something was committed: poll now instead of at the next tick. */
  nudge(): void {
    for (const wake of this.#wakers.commit) wake();
  }

  /** Finishes the batch in flight, gives up leadership and disconnects the producer. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const wake of [...this.#wakers.commit, ...this.#wakers.stop]) wake();
    await Promise.all(this.#loops);
    await this.#dropProducer();
  }

  async #lead(shard: string): Promise<void> {
    const lock = this.#options.lockName ?? 'mela.outbox-relay';
    let backoff = 250;
    while (!this.#stopping) {
      try {
        await this.#options.db.session(this.#keyspace, shard, async (session) => {
          // Named locks are server-wide: the database's name keeps two schemas on one server
          // (two shards, or two test databases) from sharing one leader.
          const [row] = await session.execute(
            "SELECT GET_LOCK(CONCAT(?, '.', DATABASE()), 0) AS got",
            [lock],
          );
          if (Number(row?.['got']) !== 1) {
            // Another replica leads this shard. A commit here must not cut this wait short:
            // every attempt is a new connection (a session's ends with it), and a follower
            // woken by each of its commits opened one per order per shard.
            await this.#sleep(2000, 'stop');
            return;
          }
          this.#metrics.leader.set({ shard }, 1);
          this.#options.logger.info({ shard }, 'relaying the outbox of this shard');
          try {
            await this.#relay(session, shard);
          } finally {
            this.#metrics.leader.set({ shard }, 0);
          }
        });
        backoff = 250;
      } catch (error) {
        this.#options.logger.warn({ err: error, shard }, 'outbox relay lost its shard; retrying');
        await this.#sleep(backoff, 'stop');
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  async #relay(session: ShardSession, shard: string): Promise<void> {
    const batchSize = this.#options.batchSize ?? 200;
    let kafkaBackoff = 200;
    let measuredAt = 0;
    let purgedAt = 0;
    while (!this.#stopping) {
      const rows = await session.execute(
        `SELECT id, event_id, topic, event_key, event_type, payload, traceparent FROM outbox
          WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT ?`,
        [batchSize],
      );
      if (rows.length > 0) {
        try {
          await this.#publish(rows);
          kafkaBackoff = 200;
        } catch (error) {
          if (refusedRecord(error) !== undefined) {
            // One row Kafka will never take must not hold up the rows behind it: find it.
            await this.#isolate(session, shard, rows);
            continue;
          }
          this.#metrics.failures.inc({ shard });
          this.#options.logger.warn(
            { err: error, shard, waiting: rows.length },
            'publishing the outbox failed; the events wait and are retried',
          );
          await this.#dropProducer();
          await this.#measure(session, shard);
          await this.#sleep(kafkaBackoff, 'commit');
          kafkaBackoff = Math.min(kafkaBackoff * 2, 5000);
          continue;
        }
        await session.execute('UPDATE outbox SET published_at = UTC_TIMESTAMP(3) WHERE id IN (?)', [
          rows.map((r) => r['id'] as string),
        ]);
        this.#metrics.published.inc({ shard }, rows.length);
      }
      const now = Date.now();
      if (now - measuredAt >= 1000) {
        measuredAt = now;
        await this.#measure(session, shard);
      }
      if (now - purgedAt >= 60_000) {
        purgedAt = now;
        await this.#purge(session);
      }
      if (rows.length < batchSize) await this.#sleep(this.#options.pollMs ?? 250, 'commit');
    }
    await session.execute("DO RELEASE_LOCK(CONCAT(?, '.', DATABASE()))", [
      this.#options.lockName ?? 'mela.outbox-relay',
    ]);
  }

  /**
   * Publishes a batch that Kafka refused one row at a time, in order: rows it takes are marked
   * published, a row it refuses for good is parked with the reason; any other failure ends the
   * pass (the remaining rows are retried as usual).
   */
  async #isolate(
    session: ShardSession,
    shard: string,
    rows: readonly Record<string, unknown>[],
  ): Promise<void> {
    for (const row of rows) {
      try {
        await this.#publish([row]);
      } catch (error) {
        const reason = refusedRecord(error);
        if (reason === undefined) return;
        await session.execute(
          'UPDATE outbox SET parked_at = UTC_TIMESTAMP(3), park_reason = ? WHERE id = ?',
          [reason.slice(0, 500), row['id'] as string],
        );
        this.#options.logger.error(
          { shard, outboxId: row['id'], eventId: row['event_id'], reason },
          'Kafka refused an outbox event for good; parked it so the rest of the shard flows',
        );
        continue;
      }
      await session.execute('UPDATE outbox SET published_at = UTC_TIMESTAMP(3) WHERE id = ?', [
        row['id'] as string,
      ]);
      this.#metrics.published.inc({ shard });
    }
    await this.#measure(session, shard);
  }

  async #publish(rows: readonly Record<string, unknown>[]): Promise<void> {
    // Every shard's loop shares the producer (it connects on its first send).
    this.#producer ??= this.#options.producer();
    // Each event traced at its checkout gets a span of its publishing in that trace, and its
    // message carries that span on (its consumers' spans are its children).
    const spans = rows.map((row) => publishSpan(row));
    try {
      await this.#producer.send({
        messages: rows.map((row, i) => {
          const span = spans[i];
          const traceparent = span && traceparentOf(span);
          return {
            topic: String(row['topic']),
            key: String(row['event_key']),
            value: jsonText(row['payload']),
            headers: new Map([
              [eventHeaders.eventId, String(row['event_id'])],
              [eventHeaders.eventType, String(row['event_type'])],
              ...(traceparent ? [[traceparentHeader, traceparent] as const] : []),
            ]),
          };
        }),
      });
    } catch (error) {
      for (const span of spans)
        span?.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      for (const span of spans) span?.end();
    }
  }

  /** Closes the producer in use; the next publish makes a new one. */
  async #dropProducer(): Promise<void> {
    const dropped = this.#producer;
    this.#producer = undefined;
    await dropped?.close().catch(() => undefined);
  }

  async #measure(session: ShardSession, shard: string): Promise<void> {
    // One pass over the unpublished rows: those waiting (and the oldest's age) and those parked.
    const [row] = await session.execute(
      `SELECT COALESCE(SUM(parked_at IS NULL), 0) AS pending,
              COALESCE(SUM(parked_at IS NOT NULL), 0) AS parked,
              COALESCE(TIMESTAMPDIFF(MICROSECOND,
                MIN(CASE WHEN parked_at IS NULL THEN created_at END), UTC_TIMESTAMP(3)), 0) AS age_us
         FROM outbox WHERE published_at IS NULL`,
    );
    this.#metrics.pending.set({ shard }, Number(row?.['pending'] ?? 0));
    this.#metrics.parked.set({ shard }, Number(row?.['parked'] ?? 0));
    this.#metrics.oldest.set({ shard }, Math.max(0, Number(row?.['age_us'] ?? 0) / 1e6));
  }

  async #purge(session: ShardSession): Promise<void> {
    const clock = this.#options.clock ?? systemClock;
    const before = new Date(clock().getTime() - (this.#options.retentionMs ?? 86_400_000));
    await session.execute<ResultSetHeader>(
      'DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < ? LIMIT 1000',
      [toSqlTime(before)],
    );
  }

  /** Waits `ms`, or less when stopping (or, for `commit`, when something was committed). */
  async #sleep(ms: number, wokenBy: 'commit' | 'stop'): Promise<void> {
    if (this.#stopping) return;
    const controller = new AbortController();
    const wake = () => controller.abort();
    const wakers = this.#wakers[wokenBy];
    wakers.add(wake);
    try {
      await delay(ms, undefined, { signal: controller.signal }).catch(() => undefined);
    } finally {
      wakers.delete(wake);
    }
  }
}

/** The span of publishing one outbox row, in the trace stored with it (none if it has none). */
function publishSpan(row: Record<string, unknown>): Span | undefined {
  const stored = row['traceparent'];
  if (typeof stored !== 'string') return undefined;
  const topic = String(row['topic']);
  return startSpan(`${topic} publish`, {
    kind: SpanKind.PRODUCER,
    parent: contextOf(stored),
    attributes: {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': topic,
      'messaging.message.id': String(row['event_id']),
      'messaging.kafka.message.key': String(row['event_key']),
    },
  });
}
