import { setTimeout as delay } from 'node:timers/promises';
import { createKafka, registerConsumerLag } from '@mela/messaging';
import {
  createHttpService,
  createPlatform,
  stopOnSignals,
  type HttpService,
  type Platform,
} from '@mela/platform';
import { openShardedDatabase } from '@mela/sharding';
import { Partitioners } from 'kafkajs';
import { Counter } from 'prom-client';
import { DeliveryLogRepository } from './adapters/delivery-log.repository.js';
import { EmailChannel } from './adapters/email.channel.js';
import { OrdersConsumer } from './adapters/orders.consumer.js';
import { WebhookChannel } from './adapters/webhook.channel.js';
import { createApp } from './app.js';
import { loadNotificationConfig, type NotificationConfig } from './config.js';
import { confirmationPush, confirmationSms } from './domain/messages.js';
import { Notifier, type Channel } from './domain/notifier.js';

export interface NotificationApp {
  readonly platform: Platform;
  readonly service: HttpService;
}

/** Builds the consumer, its channels and the health/metrics endpoint from a configuration. */
export function buildNotification(config: NotificationConfig): NotificationApp {
  const platform = createPlatform('notification', config.platform);
  const { logger } = platform;
  const registry = platform.metrics.registry;
  const db = openShardedDatabase(config.sharding, registry);
  const kafka = createKafka(config.kafka, logger);

  const email = new EmailChannel({
    smtpUrl: config.smtpUrl,
    from: config.emailFrom,
    timeoutMs: config.timeoutMs,
  });
  const channels: Channel[] = [email];
  if (config.smsWebhookUrl) {
    channels.push(
      new WebhookChannel({
        name: 'sms',
        url: config.smsWebhookUrl,
        timeoutMs: config.timeoutMs,
        applies: (event) => event.contact.phone !== undefined,
        payload: (event) => ({ to: event.contact.phone, text: confirmationSms(event) }),
      }),
    );
  }
  if (config.pushWebhookUrl) {
    channels.push(
      new WebhookChannel({
        name: 'push',
        url: config.pushWebhookUrl,
        timeoutMs: config.timeoutMs,
        applies: (event) => event.contact.pushToken !== undefined,
        payload: (event) => ({ token: event.contact.pushToken, ...confirmationPush(event) }),
      }),
    );
  }

  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['channel'] as const, registers: [registry] });
  const sent = counter('notifications_sent_total', 'Notifications a provider accepted');
  const skipped = counter(
    'notifications_deduplicated_total',
    'Redelivered events whose notification had already been sent',
  );
  const failed = counter(
    'notifications_failed_total',
    'Notifications given up on after their retries',
  );
  // Each configured channel exported from the start, so its rates read 0 rather than no data.
  for (const { name: channel } of channels) {
    for (const metric of [sent, skipped, failed]) metric.inc({ channel }, 0);
  }
  const notifier = new Notifier({
    channels,
    log: new DeliveryLogRepository(db),
    retry: config.retry,
    metrics: {
      sent: (channel) => sent.inc({ channel }),
      skipped: (channel) => skipped.inc({ channel }),
      failed: (channel) => failed.inc({ channel }),
    },
  });

  const consumer = new OrdersConsumer({
    consumer: kafka.consumer({
      groupId: config.groupId,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.min(3000, Math.floor(config.sessionTimeoutMs / 3)),
    }),
    producer: kafka.producer({
      idempotent: true,
      createPartitioner: Partitioners.DefaultPartitioner,
    }),
    topic: config.topic,
    deadLetterTopic: config.deadLetterTopic,
    redelivery: {
      ...config.redelivery,
      consumer: kafka.consumer({
        groupId: `${config.groupId}.retry`,
        sessionTimeout: config.sessionTimeoutMs,
        heartbeatInterval: Math.min(3000, Math.floor(config.sessionTimeoutMs / 3)),
      }),
    },
    logger,
    registry,
    partitionsConsumedConcurrently: config.partitionsConcurrently,
    deliver: (event, heartbeat) =>
      notifier.deliver(event, async (ms) => {
        await delay(ms);
        await heartbeat();
      }),
  });

  const admin = kafka.admin();
  registerConsumerLag({ admin, registry, groupId: config.groupId, topic: config.topic });
  for (const check of db.healthChecks(['customer']))
    platform.health.register(check.name, check.probe, { critical: check.critical });

  let stopping = false;
  let consuming: Promise<void> | undefined;
  const consume = async () => {
    // Kafka may come up after this service: keep trying, without a crash loop.
    for (let backoff = 500; !stopping; backoff = Math.min(backoff * 2, 10_000)) {
      try {
        await admin.connect();
        await consumer.start();
        logger.info({ topic: config.topic, group: config.groupId }, 'consuming');
        return;
      } catch (error) {
        logger.warn({ err: error }, 'cannot join the consumer group yet; retrying');
        await delay(backoff);
      }
    }
  };

  const service = createHttpService(
    platform,
    createApp({ platform }),
    [
      {
        name: 'kafka consumer',
        close: async () => {
          stopping = true;
          await consuming;
          await consumer.stop();
        },
      },
      { name: 'kafka admin', close: () => admin.disconnect() },
      { name: 'smtp', close: () => email.close() },
      { name: 'mysql', close: () => db.close() },
    ],
    [
      {
        name: 'kafka consumer',
        start: () => {
          consuming = consume();
        },
      },
    ],
  );
  return { platform, service };
}

if (import.meta.main) {
  const { service, platform } = buildNotification(loadNotificationConfig(process.env));
  await service.start();
  stopOnSignals(service, platform.logger);
}
