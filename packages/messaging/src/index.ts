export { registerConsumerLag } from './consumer-lag.js';
export {
  checkKafkaEnv,
  createKafka,
  kafkaConfigFrom,
  kafkaEnv,
  kafkaTopicName,
} from './kafka-config.js';
export type { KafkaClientConfig } from './kafka-config.js';
export { eventHeaders, headerText, orderPlacedEvent, ordersTopic } from './order-events.js';
export type { OrderPlacedEvent } from './order-events.js';
