import type { Admin } from '@platformatic/kafka';

/** Each partition's first and next offset (what `earliest` and `latest` name), by partition. */
export async function topicOffsets(
  admin: Admin,
  topic: string,
): Promise<{ earliest: Map<number, bigint>; latest: Map<number, bigint> }> {
  const metadata = await admin.metadata({ topics: [topic] });
  const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
  const at = async (timestamp: bigint) => {
    const [listed] = await admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: count }, (_, partitionIndex) => ({
            partitionIndex,
            timestamp,
          })),
        },
      ],
    });
    return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, p.offset]));
  };
  // -2 and -1: the protocol's "earliest" and "latest".
  const [earliest, latest] = await Promise.all([at(-2n), at(-1n)]);
  return { earliest, latest };
}

/** Where a consumer group stands on each partition of `topic` (absent: nothing committed). */
export async function committedOffsets(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const [group] = await admin.listConsumerGroupOffsets({
    groups: [groupId],
  });
  const found = group?.topics.find((t) => t.name === topic);
  return new Map(
    (found?.partitions ?? [])
      .filter((p) => p.committedOffset >= 0n)
      .map((p) => [p.partitionIndex, p.committedOffset]),
  );
}
