import type { Admin } from 'kafkajs';
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
  // Connected on the first scrape (and again after a failed connect): Kafka may come up later.
  let connected: Promise<void> | undefined;
  const read = async () => {
    connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    await connected;
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    const done = new Map(
      (committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
    );
    return ends.map((end) => {
      const high = Number(end.high);
      const low = Number(end.low);
      const at = done.get(end.partition) ?? -1;
      // -1: nothing committed yet; everything still in the log is lag.
      return { partition: end.partition, lag: Math.max(0, high - (at < 0 ? low : at)) };
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
