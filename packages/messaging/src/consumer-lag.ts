import type { Admin } from '@platformatic/kafka';
import { committedOffsets, topicOffsets } from './offsets.js';
import { Gauge, type Registry } from 'prom-client';

/**
 * `kafka_consumer_lag{group,topic,partition}`: the partition's end offset minus the group's
 * committed offset, read from the brokers when Prometheus scrapes (at most once per
 * `minIntervalMs`), so it is true even while this process is stuck or has no partitions.
 */
export function registerConsumerLag(options: {
  readonly admin: Admin;
  readonly registry: Registry;
  readonly groupId: string;
  readonly topic: string;
  /** @default 2000 */
  readonly minIntervalMs?: number;
}): void {
  const { admin, groupId, topic } = options;
  let last = 0;
  let cached: { partition: number; lag: number }[] = [];
  const read = async () => {
    const [{ earliest, latest }, committed] = await Promise.all([
      topicOffsets(admin, topic),
      committedOffsets(admin, groupId, topic),
    ]);
    return [...latest].map(([partition, high]) => {
      // Nothing committed yet: everything still in the log is lag.
      const from = committed.get(partition) ?? earliest.get(partition) ?? 0n;
      return { partition, lag: Math.max(0, Number(high - from)) };
    });
  };
  new Gauge({
    name: 'kafka_consumer_lag',
    help: 'Messages in the partition not yet committed by the consumer group',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [options.registry],
    async collect() {
      const now = Date.now();
      if (now - last >= (options.minIntervalMs ?? 2000)) {
        try {
          cached = await read();
          last = now;
        } catch {
          // The brokers are unreachable: keep the last reading rather than fail the scrape.
        }
      }
      this.reset();
      for (const { partition, lag } of cached)
        this.set({ group: groupId, topic, partition: String(partition) }, lag);
    },
  });
}
