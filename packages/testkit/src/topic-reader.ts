import { randomUUID } from 'node:crypto';
import { consumeInOrder, createConsumer, type EventMessage } from '@mela/messaging';

/** What a topic held and has received since, as a consumer group of the test's own read it. */
export interface TopicReader {
  readonly seen: EventMessage[];
  stop(): Promise<void>;
}

/** Reads `topic` from its beginning, in the background, until stopped. */
export async function readTopic(brokers: readonly string[], topic: string): Promise<TopicReader> {
  const seen: EventMessage[] = [];
  const consuming = await consumeInOrder({
    consumer: createConsumer(
      { brokers, clientId: 'mela-test-reader', ssl: false },
      { groupId: `test-reader-${randomUUID()}` },
    ),
    topic,
    handle: (message) => {
      seen.push(message);
      return Promise.resolve();
    },
    onError: () => undefined,
  });
  return { seen, stop: () => consuming.stop() };
}
