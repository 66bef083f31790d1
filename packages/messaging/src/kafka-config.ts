import { envBool, envList } from '@mela/core';
import {
  Admin,
  compatibilityPartitioner,
  Consumer,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
  type BaseOptions,
  type Message,
} from '@platformatic/kafka';
import { z } from 'zod';

/**
 * The Kafka variables of a service that produces or consumes. With Strimzi, the bootstrap
 * address is `<cluster>-kafka-bootstrap:9093` and the SCRAM user's password comes from the
 * Secret the KafkaUser operator writes.
 */
export const kafkaEnv = {
  /** Bootstrap servers, comma separated. */
  KAFKA_BROKERS: envList().default(['127.0.0.1:9092']),
  /** Names this process in broker logs and quotas. */
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  /** `none`, or the SCRAM mechanism of the KafkaUser. */
  KAFKA_SASL_MECHANISM: z.enum(['none', 'scram-sha-256', 'scram-sha-512']).default('none'),
  KAFKA_USERNAME: z.string().optional(),
  KAFKA_PASSWORD: z.string().optional(),
  /** TLS to the brokers (Strimzi's `tls: true` listener). */
  KAFKA_SSL: envBool().default(false),
};

/** A Kafka topic name as the broker accepts it. */
export const kafkaTopicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name (letters, digits, . _ -)');

export interface KafkaClientConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean;
  readonly sasl?: {
    readonly mechanism: 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly password: string;
  };
}

type KafkaEnv = Readonly<Omit<z.infer<z.ZodObject<typeof kafkaEnv>>, 'KAFKA_BROKERS'>> & {
  readonly KAFKA_BROKERS: readonly string[];
};

/** Adds an issue for SASL without credentials; call from the service's `superRefine`. */
export function checkKafkaEnv(env: KafkaEnv, ctx: z.RefinementCtx): void {
  if (env.KAFKA_SASL_MECHANISM === 'none') return;
  for (const key of ['KAFKA_USERNAME', 'KAFKA_PASSWORD'] as const) {
    if (!env[key]) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `required when KAFKA_SASL_MECHANISM is ${env.KAFKA_SASL_MECHANISM}`,
      });
    }
  }
}

export function kafkaConfigFrom(env: KafkaEnv, defaultClientId: string): KafkaClientConfig {
  const base = {
    brokers: env.KAFKA_BROKERS,
    clientId: env.KAFKA_CLIENT_ID ?? defaultClientId,
    ssl: env.KAFKA_SSL,
  };
  if (env.KAFKA_SASL_MECHANISM === 'none') return base;
  return {
    ...base,
    sasl: {
      mechanism: env.KAFKA_SASL_MECHANISM,
      username: env.KAFKA_USERNAME ?? '',
      password: env.KAFKA_PASSWORD ?? '',
    },
  };
}

/**
 * What every client of Mela's Kafka shares: where the brokers are, who this is, TLS and SCRAM,
 * and how patiently it retries (a broker restart or a leader moving should not surface as a
 * failure; a broker that stays away should, within seconds).
 */
export function kafkaClientOptions(config: KafkaClientConfig) {
  return {
    clientId: config.clientId,
    bootstrapBrokers: [...config.brokers],
    connectTimeout: 3000,
    requestTimeout: 10_000,
    retries: 5,
    retryDelay: 200,
    ...(config.ssl ? { tls: {} } : {}),
    ...(config.sasl
      ? {
          sasl: {
            mechanism:
              config.sasl.mechanism === 'scram-sha-256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512',
            username: config.sasl.username,
            password: config.sasl.password,
          } as const,
        }
      : {}),
  } satisfies BaseOptions;
}

/** Keys, values and headers as text: every Mela event is JSON keyed by an id. */
export type EventMessage = Message<string, string, string, string>;
export type EventConsumer = Consumer<string, string, string, string>;
export type EventProducer = Producer<string, string, string, string>;

/**
 * An idempotent producer with acks from every in-sync replica, partitioning keys as the Java
 * client (and kafkajs) do, so a key keeps its partition whichever client wrote it.
 */
export function createProducer(config: KafkaClientConfig): EventProducer {
  return new Producer({
    ...kafkaClientOptions(config),
    idempotent: true,
    acks: ProduceAcks.ALL,
    partitioner: compatibilityPartitioner,
    serializers: stringSerializers,
  });
}

/** A consumer of `groupId`, reading text (see {@link consumeInOrder} for how Mela runs one). */
export function createConsumer(
  config: KafkaClientConfig,
  options: { readonly groupId: string; readonly sessionTimeoutMs?: number },
): EventConsumer {
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  return new Consumer({
    ...kafkaClientOptions(config),
    groupId: options.groupId,
    sessionTimeout,
    heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
    deserializers: stringDeserializers,
  });
}

export function createAdmin(config: KafkaClientConfig): Admin {
  return new Admin(kafkaClientOptions(config));
}
