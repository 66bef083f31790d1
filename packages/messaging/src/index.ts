export { consumeInOrder } from './consume.js';
export type { ConsumeInOrderOptions, InOrderConsumption } from './consume.js';
export { registerConsumerLag } from './consumer-lag.js';
export {
  checkKafkaEnv,
  createAdmin,
  createConsumer,
  createProducer,
  kafkaClientOptions,
  kafkaConfigFrom,
  kafkaEnv,
  kafkaTopicName,
} from './kafka-config.js';
export type {
  EventConsumer,
  EventMessage,
  EventProducer,
  KafkaClientConfig,
} from './kafka-config.js';
export { refusedRecord, retriable } from './errors.js';
export { committedOffsets, topicOffsets } from './offsets.js';
export { eventHeaders, orderPlacedEvent, ordersTopic } from './order-events.js';
export type { OrderPlacedEvent } from './order-events.js';
export { createTopicsAndWait } from './topics.js';
