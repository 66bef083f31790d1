import type { Admin } from '@platformatic/kafka';
import { until } from '@mela/toolchain';

/**
 * Creates topics (one replica: one local broker) and waits until every partition has a
 * leader, by polling the metadata: a busy, freshly started broker is slow to report new
 * partitions, and a client that sends to one before it does gets UNKNOWN_TOPIC_OR_PARTITION.
 */
export async function createTopicsAndWait(
  admin: Admin,
  topics: readonly { readonly topic: string; readonly numPartitions: number }[],
): Promise<void> {
  await admin.createTopics({
    topics: topics.map((t) => ({ topic: t.topic, partitions: t.numPartitions, replicas: 1 })),
  });
  await until(
    async () => {
      const metadata = await admin
        .metadata({ topics: topics.map((t) => t.topic), forceUpdate: true })
        .catch(() => undefined);
      return topics.every((wanted) => {
        const found = metadata?.topics.get(wanted.topic);
        return (
          found?.partitionsCount === wanted.numPartitions &&
          found.partitions.every((p) => p.leader >= 0)
        );
      });
    },
    `leaders for ${topics.map((t) => t.topic).join(', ')}`,
    30_000,
  );
}
