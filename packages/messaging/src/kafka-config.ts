import { envBool, envList, type Logger } from '@mela/core';
import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type SASLOptions } from 'kafkajs';
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

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose log lines go to the service's pino logger (info and above). */
export function createKafka(config: KafkaClientConfig, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafka' });
  const options: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: config.ssl,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 200, retries: 5, maxRetryTime: 5000 },
    logLevel: logLevel.INFO,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        log[levels[level] ?? 'info'](rest, message);
      },
  };
  if (config.sasl) options.sasl = { ...config.sasl } as SASLOptions;
  return new Kafka(options);
}
