import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createDevTokenIssuer } from '@mela/platform';
import { startSmtpServer } from '@mela/devstack';
import {
  createTestShards,
  createTestTopics,
  freePort,
  insertTestProducts,
  startCatalogAndCart,
  startService,
  type ServiceProcess,
  type TestProduct,
  type TestShards,
} from '@mela/testkit';
import { localTopology, redisUrl } from '@mela/topology';

/** A local SMTP server that keeps what it receives, as a mail provider's inbox would. */
export async function startSmtpSink() {
  const received: { messageId: string; orderId: string; to: string; subject: string }[] = [];
  const server = await startSmtpServer({
    host: '127.0.0.1',
    port: 0,
    onMessage(mail) {
      received.push({
        messageId: mail.header('Message-ID'),
        orderId: mail.header('X-Mela-Order-Id'),
        to: mail.recipients.join(','),
        subject: mail.header('Subject'),
      });
    },
  });
  return {
    url: `smtp://127.0.0.1:${String(server.port)}`,
    received,
    close: () => server.close(),
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
  readonly brokers: readonly string[];
  /** What `mela-dlq` needs to reach this pipeline's topics. */
  readonly dlqEnv: Readonly<Record<string, string>>;
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
  readonly products: readonly TestProduct[];
  readonly notificationEnv?: Record<string, string>;
}): Promise<Pipeline> {
  const topology = localTopology();
  const shards = await createTestShards('pipeline');
  const secret = randomBytes(32).toString('hex');
  const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret });
  const suffix = randomBytes(4).toString('hex');
  const topics = await createTestTopics(options.brokers);
  const { topic } = topics;
  await insertTestProducts(shards, options.products);

  const common = {
    AUTH_JWT_SECRET: secret,
    REDIS_URL: redisUrl(topology),
    SHARD_MAP: shards.shardMap,
    RATE_LIMIT: 'false',
    KAFKA_BROKERS: options.brokers.join(','),
    ORDERS_TOPIC: topic,
  };
  const { catalog, cart, carts } = await startCatalogAndCart(common, `test:pipe:${suffix}:`);
  const order = await startService('order', await freePort(), {
    ...common,
    ...carts,
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
        NOTIFY_REDELIVERY_DELAYS_SECONDS: '1',
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
    brokers: options.brokers,
    dlqEnv: {
      KAFKA_BROKERS: common.KAFKA_BROKERS,
      ORDERS_TOPIC: topic,
      NOTIFY_GROUP_ID: `notification-${suffix}`,
    },
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
      await topics.drop();
      await shards.drop();
    },
  };
  return pipeline;
}
