import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createDevTokenIssuer } from '@mela/platform';
import {
  createTestShards,
  freePort,
  startService,
  type ServiceProcess,
  type TestShards,
} from '@mela/testkit';
import { localTopology, redisUrl } from '@mela/topology';
import { Kafka, logLevel } from 'kafkajs';
import { createConnection } from 'mysql2/promise';
import { SMTPServer } from 'smtp-server';

/** A local SMTP server that keeps what it receives, as a mail provider's inbox would. */
export async function startSmtpSink() {
  const received: { messageId: string; orderId: string; to: string; subject: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (raw += chunk));
      stream.on('end', () => {
        const header = (name: string) =>
          new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw)?.[1]?.trim() ?? '';
        received.push({
          messageId: header('Message-ID'),
          orderId: header('X-Mela-Order-Id'),
          to: session.envelope.rcptTo.map((r) => r.address).join(','),
          subject: header('Subject'),
        });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${String(port)}`,
    received,
    /** Distinct messages: a provider drops a resend with a Message-ID it has seen. */
    distinct: () => new Set(received.map((m) => m.messageId)).size,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * An SMS/push provider's webhook: records every call, honours Idempotency-Key the way
 * providers do (a repeated key has no second effect), and can answer slowly or fail.
 */
export async function startWebhookSink(options: { delayMs?: number; failWith?: number } = {}) {
  const calls: { key: string; body: Record<string, unknown> }[] = [];
  const effects = new Map<string, Record<string, unknown>>();
  const read = async (req: IncomingMessage) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    return JSON.parse(body) as Record<string, unknown>;
  };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      const key = req.headers['idempotency-key'];
      calls.push({ key: String(key), body });
      if (options.delayMs) await delay(options.delayMs);
      if (options.failWith) {
        res.writeHead(options.failWith).end();
        return;
      }
      if (typeof key === 'string' && !effects.has(key)) effects.set(key, body);
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
    })().catch(() => {
      // The caller vanished mid-request (a killed service): nothing was accepted.
      res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/sms`,
    calls,
    effects,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>;
export type WebhookSink = Awaited<ReturnType<typeof startWebhookSink>>;

/** The whole local stack as processes, on the test's own databases, topics and key prefixes. */
export interface Pipeline {
  readonly shards: TestShards;
  readonly topic: string;
  readonly catalog: ServiceProcess;
  readonly cart: ServiceProcess;
  readonly order: ServiceProcess;
  notification: ServiceProcess;
  readonly kafka: Kafka;
  token(userId: string): Promise<string>;
  /** Starts another notification process (after the test killed one). */
  startNotification(): Promise<ServiceProcess>;
  /** Adds the product to the user's cart and places an order with an SMS number. */
  buy(
    userId: string,
    productId: number,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startPipeline(options: {
  readonly brokers: string[];
  readonly smtp: SmtpSink;
  readonly sms: WebhookSink;
  readonly products: readonly { id: number; name: string; priceCents: number; stock: number }[];
  readonly notificationEnv?: Record<string, string>;
}): Promise<Pipeline> {
  const topology = localTopology();
  const shards = await createTestShards('pipeline');
  const secret = randomBytes(32).toString('hex');
  const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret });
  const suffix = randomBytes(4).toString('hex');
  const topic = `orders-t${suffix}`;
  const kafka = new Kafka({
    clientId: 'pipeline-test',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: 3, replicationFactor: 1 },
      { topic: `${topic}.dlq`, numPartitions: 3, replicationFactor: 1 },
    ],
  });
  await admin.disconnect();

  const commerce = await createConnection({ uri: shards.url('commerce', '0') });
  await commerce.query("INSERT INTO categories (id, slug, name) VALUES (1, 'phones', 'Phones')");
  for (const p of options.products) {
    await commerce.query(
      `INSERT INTO products (id, sku, name, description, category_id, price_cents, stock)
       VALUES (?, ?, ?, 'A test product', 1, ?, ?)`,
      [p.id, `SKU-${String(p.id)}`, p.name, p.priceCents, p.stock],
    );
  }
  await commerce.end();

  const common = {
    AUTH_JWT_SECRET: secret,
    REDIS_URL: redisUrl(topology),
    SHARD_MAP: shards.shardMap,
    RATE_LIMIT: 'false',
    KAFKA_BROKERS: options.brokers.join(','),
    ORDERS_TOPIC: topic,
  };
  const catalog = await startService('catalog', await freePort(), {
    ...common,
    CACHE_KEY_PREFIX: `test:pipe:${suffix}:catalog:`,
  });
  const cart = await startService('cart', await freePort(), {
    ...common,
    CATALOG_URL: catalog.url,
    CART_KEY_PREFIX: `test:pipe:${suffix}:cart:`,
  });
  const order = await startService('order', await freePort(), {
    ...common,
    CART_URL: cart.url,
    STOCK_GATE_KEY_PREFIX: `test:pipe:${suffix}:gate:`,
    PAYMENT_SANDBOX_LATENCY_MS: '5',
    OUTBOX_POLL_MS: '50',
  });
  const startNotification = async () =>
    startService(
      'notification',
      await freePort(),
      {
        ...common,
        NOTIFY_GROUP_ID: `notification-${suffix}`,
        SMTP_URL: options.smtp.url,
        SMS_WEBHOOK_URL: options.sms.url,
        NOTIFY_RETRY_BASE_MS: '20',
        NOTIFY_RETRY_MAX_MS: '200',
        // A killed member's partitions move to the new one after this long.
        NOTIFY_SESSION_TIMEOUT_MS: '6000',
        ...options.notificationEnv,
      },
      { ready: 'livez' },
    );
  const token = (userId: string) => issuer.issue({ userId, roles: ['user'] });
  const pipeline: Pipeline = {
    shards,
    topic,
    catalog,
    cart,
    order,
    notification: await startNotification(),
    kafka,
    token,
    startNotification,
    async buy(userId, productId) {
      const auth = `Bearer ${await token(userId)}`;
      const added = await fetch(`${cart.url}/api/cart/items`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ productId: String(productId), quantity: 1 }),
      });
      if (added.status !== 201) throw new Error(`add to cart: ${String(added.status)}`);
      const response = await fetch(`${order.url}/api/orders`, {
        method: 'POST',
        headers: {
          authorization: auth,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify({ contact: { phone: '+919812345678' } }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async close() {
      await pipeline.notification.stop();
      await order.stop();
      await cart.stop();
      await catalog.stop();
      const cleanup = kafka.admin();
      await cleanup.connect();
      await cleanup.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
      await cleanup.disconnect();
      await shards.drop();
    },
  };
  return pipeline;
}
