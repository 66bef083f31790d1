import type { Admin } from 'kafkajs';
import { until } from '@mela/toolchain';

/**
 * Creates topics and waits until every partition has a leader, by polling the metadata:
 * kafkajs's own `waitForLeaders` gives up with UNKNOWN_TOPIC_OR_PARTITION when a busy, freshly
 * started broker is slow to report the new partitions.
 */
export async function createTopicsAndWait(
  admin: Admin,
  topics: readonly { readonly topic: string; readonly numPartitions: number }[],
): Promise<void> {
  await admin.createTopics({
    waitForLeaders: false,
    topics: topics.map((t) => ({ ...t, replicationFactor: 1 })),
  });
  await until(
    async () => {
      const metadata = await admin
        .fetchTopicMetadata({ topics: topics.map((t) => t.topic) })
        .catch(() => undefined);
      return topics.every((wanted) => {
        const found = metadata?.topics.find((t) => t.name === wanted.topic);
        return (
          found?.partitions.length === wanted.numPartitions &&
          found.partitions.every((p) => p.leader >= 0)
        );
      });
    },
    `leaders for ${topics.map((t) => t.topic).join(', ')}`,
    30_000,
  );
}
