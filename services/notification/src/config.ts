import {
  checkKafkaEnv,
  kafkaConfigFrom,
  kafkaEnv,
  kafkaTopicName,
  ordersTopic,
  type KafkaClientConfig,
} from '@mela/messaging';
import {
  checkPlatformEnv,
  envInt,
  loadConfig,
  platformConfigFrom,
  platformEnv,
  type PlatformConfig,
} from '@mela/platform';
import { shardingConfigFrom, shardingEnv, type ShardingConfig } from '@mela/sharding';
import { z } from 'zod';
import type { RetryPolicy } from './domain/notifier.js';

/**
 * Where the notification's events come from and go, and its consumer group: what the service
 * and `mela-dlq` both read (spread into each one's schema; see {@link notificationTopics}).
 */
export const notificationTopicsEnv = {
  ORDERS_TOPIC: kafkaTopicName.default(ordersTopic),
  /** Where undeliverable events go; default `<ORDERS_TOPIC>.dlq`. */
  ORDERS_DLQ_TOPIC: kafkaTopicName.optional(),
  /** Where events wait between delayed rounds of delivery; default `<ORDERS_TOPIC>.retry`. */
  ORDERS_RETRY_TOPIC: kafkaTopicName.optional(),
  /** The consumer group; replicas share it (and the partitions). */
  NOTIFY_GROUP_ID: z.string().min(1).default('notification'),
};

/** The topics and the group from the variables of {@link notificationTopicsEnv}. */
export function notificationTopics(e: {
  readonly ORDERS_TOPIC: string;
  readonly ORDERS_DLQ_TOPIC?: string | undefined;
  readonly ORDERS_RETRY_TOPIC?: string | undefined;
  readonly NOTIFY_GROUP_ID: string;
}) {
  return {
    topic: e.ORDERS_TOPIC,
    retryTopic: e.ORDERS_RETRY_TOPIC ?? `${e.ORDERS_TOPIC}.retry`,
    deadLetterTopic: e.ORDERS_DLQ_TOPIC ?? `${e.ORDERS_TOPIC}.dlq`,
    groupId: e.NOTIFY_GROUP_ID,
  };
}

const notificationEnv = {
  ...platformEnv,
  ...shardingEnv,
  ...kafkaEnv,
  ...notificationTopicsEnv,
  PORT: platformEnv.PORT.default(3004),
  /**
   * After the quick attempts fail, the event is tried again after each of these delays (in
   * seconds, from the retry topic, without holding up its partition), then dead-lettered.
   */
  NOTIFY_REDELIVERY_DELAYS_SECONDS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'comma-separated whole seconds')
    .default('60,300,900,3600')
    .transform((list) => list.split(',').map((n) => Number(n) * 1000))
    .refine((delays) => delays.every((ms) => ms >= 1000 && ms <= 86_400_000), {
      error: 'each delay is 1 s to 24 h',
    }),
  /** A member silent this long is dropped and its partitions reassigned (broker minimum 6 s). */
  NOTIFY_SESSION_TIMEOUT_MS: envInt({ min: 6000, max: 300_000 }).default(30_000),
  NOTIFY_PARTITIONS_CONCURRENTLY: envInt({ min: 1, max: 64 }).default(3),
  /** `smtp://user:pass@host:port` (or `smtps://`). */
  SMTP_URL: z.url().default('smtp://127.0.0.1:1025'),
  EMAIL_FROM: z.string().min(3).default('Mela <orders@mela.local>'),
  /** SMS provider webhook; SMS is off without it. */
  SMS_WEBHOOK_URL: z.url().optional(),
  /** Push provider webhook; push is off without it. */
  PUSH_WEBHOOK_URL: z.url().optional(),
  NOTIFY_TIMEOUT_MS: envInt({ min: 100, max: 60_000 }).default(5000),
  /** Attempts per channel before the event is dead-lettered. */
  NOTIFY_MAX_ATTEMPTS: envInt({ min: 1, max: 20 }).default(5),
  NOTIFY_RETRY_BASE_MS: envInt({ min: 1, max: 60_000 }).default(200),
  NOTIFY_RETRY_MAX_MS: envInt({ min: 1, max: 300_000 }).default(5000),
};

/** Every variable the notification reads: the manifests' environment is checked against it. */
export const notificationVariables: readonly string[] = Object.keys(notificationEnv);

export interface NotificationConfig {
  readonly platform: PlatformConfig;
  readonly sharding: ShardingConfig;
  readonly kafka: KafkaClientConfig;
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly groupId: string;
  readonly partitionsConcurrently: number;
  readonly sessionTimeoutMs: number;
  readonly smtpUrl: string;
  readonly emailFrom: string;
  readonly smsWebhookUrl: string | undefined;
  readonly pushWebhookUrl: string | undefined;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  /** Delayed rounds through the retry topic, before the dead-letter topic. */
  readonly redelivery: { readonly topic: string; readonly delaysMs: readonly number[] };
}

const notificationConfig = z.object(notificationEnv).transform((e, ctx): NotificationConfig => {
  checkPlatformEnv(e, ctx);
  checkKafkaEnv(e, ctx);
  const { topic, retryTopic, deadLetterTopic, groupId } = notificationTopics(e);
  return {
    platform: platformConfigFrom(e),
    sharding: shardingConfigFrom(e, ctx),
    kafka: kafkaConfigFrom(e, 'mela-notification'),
    topic,
    deadLetterTopic,
    groupId,
    partitionsConcurrently: e.NOTIFY_PARTITIONS_CONCURRENTLY,
    sessionTimeoutMs: e.NOTIFY_SESSION_TIMEOUT_MS,
    smtpUrl: e.SMTP_URL,
    emailFrom: e.EMAIL_FROM,
    smsWebhookUrl: e.SMS_WEBHOOK_URL,
    pushWebhookUrl: e.PUSH_WEBHOOK_URL,
    timeoutMs: e.NOTIFY_TIMEOUT_MS,
    redelivery: {
      topic: retryTopic,
      delaysMs: e.NOTIFY_REDELIVERY_DELAYS_SECONDS,
    },
    retry: {
      maxAttempts: e.NOTIFY_MAX_ATTEMPTS,
      baseDelayMs: e.NOTIFY_RETRY_BASE_MS,
      maxDelayMs: e.NOTIFY_RETRY_MAX_MS,
    },
  };
});

/** The notification service's configuration; every bad variable is reported at once. */
export function loadNotificationConfig(
  env: Readonly<Record<string, string | undefined>>,
): NotificationConfig {
  return loadConfig(notificationConfig, env);
}
