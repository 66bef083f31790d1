import { setTimeout as delay } from 'node:timers/promises';
import { createAdmin, createConsumer, createProducer, registerConsumerLag } from '@mela/messaging';
import {
  createHttpService,
  createPlatform,
  runService,
  type HttpService,
  type Platform,
} from '@mela/platform';
import type { Tracing } from '@mela/platform/tracing';
import { openShardedDatabase } from '@mela/sharding';
import { Counter } from 'prom-client';
import { DeliveryLogRepository } from './adapters/delivery-log.repository.js';
import { EmailChannel } from './adapters/email.channel.js';
import { OrdersConsumer } from './adapters/orders.consumer.js';
import { PushChannel, SmsChannel } from './adapters/webhook.channel.js';
import { createApp } from './app.js';
import { loadNotificationConfig, type NotificationConfig } from './config.js';
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

  const email = new EmailChannel({
    smtpUrl: config.smtpUrl,
    from: config.emailFrom,
    timeoutMs: config.timeoutMs,
  });
  const { timeoutMs } = config;
  const channels: Channel[] = [email];
  if (config.smsWebhookUrl) channels.push(new SmsChannel({ url: config.smsWebhookUrl, timeoutMs }));
  if (config.pushWebhookUrl)
    channels.push(new PushChannel({ url: config.pushWebhookUrl, timeoutMs }));

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
    consumer: createConsumer(config.kafka, {
      groupId: config.groupId,
      sessionTimeoutMs: config.sessionTimeoutMs,
    }),
    producer: createProducer(config.kafka),
    topic: config.topic,
    deadLetterTopic: config.deadLetterTopic,
    redelivery: {
      ...config.redelivery,
      consumer: createConsumer(config.kafka, {
        groupId: `${config.groupId}.retry`,
        sessionTimeoutMs: config.sessionTimeoutMs,
      }),
    },
    logger,
    registry,
    partitionsConsumedConcurrently: config.partitionsConcurrently,
    deliver: (event) => notifier.deliver(event, (ms) => delay(ms)),
  });

  const admin = createAdmin(config.kafka);
  registerConsumerLag({ admin, registry, groupId: config.groupId, topic: config.topic });
  for (const check of db.healthChecks(['customer']))
    platform.health.register(check.name, check.probe, { critical: check.critical });

  const service = createHttpService(
    platform,
    createApp({ platform }),
    [
      { name: 'kafka consumer', close: () => consumer.stop() },
      { name: 'kafka admin', close: () => admin.close() },
      { name: 'smtp', close: () => email.close() },
      { name: 'mysql', close: () => db.close() },
    ],
    [{ name: 'kafka consumer', start: () => consumer.startWhenReachable() }],
  );
  return { platform, service };
}

/** Serves from the environment's configuration until a signal, then drains and flushes `tracing`. */
export function run(tracing: Tracing): Promise<void> {
  return runService(buildNotification(loadNotificationConfig(process.env)), tracing);
}
