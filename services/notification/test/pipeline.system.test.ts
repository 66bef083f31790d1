import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createProducer, eventHeaders } from '@mela/messaging';
import { readTopic, until } from '@mela/testkit';
import { kafkaBrokers, localTopology } from '@mela/topology';
import {
  startPipeline,
  startSmtpSink,
  startWebhookSink,
  type Pipeline,
  type SmtpSink,
  type WebhookSink,
} from './support.js';

const phone = { id: 401, name: 'Pipeline Phone', priceCents: 2_499_900, stock: 10 };

describe('the order pipeline, end to end', () => {
  let smtp: SmtpSink;
  let sms: WebhookSink;
  let shop: Pipeline;
  before(async () => {
    smtp = await startSmtpSink();
    sms = await startWebhookSink();
    shop = await startPipeline({
      brokers: kafkaBrokers(localTopology()),
      smtp,
      sms,
      products: [phone],
    });
  });
  after(async () => {
    await shop.close();
    await smtp.close();
    await sms.close();
  });

  it('when a shopper browses, adds to cart and orders, then one email and one SMS go out within seconds', async () => {
    const user = `shopper-${randomUUID().slice(0, 8)}`;
    const browse = await fetch(`${shop.catalog.url}/api/catalog/products?category=phones`);
    const listed = (await browse.json()) as { items: { id: string }[] };
    assert.ok(listed.items.some((p) => p.id === String(phone.id)));

    const placed = await shop.buy(user, phone.id);
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const orderId = String(placed.body['id']);

    await until(
      () =>
        smtp.received.some((m) => m.orderId === orderId) &&
        sms.calls.some((c) => String(c.body['text']).includes(`order ${orderId} `)),
      'the email and the SMS',
      10_000,
    );
    const mails = smtp.received.filter((m) => m.orderId === orderId);
    assert.equal(mails.length, 1);
    assert.equal(mails[0]?.to, `${user}@example.com`);
    // Once the service has recorded both as sent, nothing else is on its way.
    await until(
      async () =>
        /notifications_sent_total\{channel="sms",service="notification"\} 1\n/.test(
          await (await fetch(`${shop.notification.url}/metrics`)).text(),
        ),
      'the SMS to be recorded as sent',
    );
    assert.equal(
      sms.calls.filter((c) => String(c.body['text']).includes(`order ${orderId} `)).length,
      1,
    );
  });

  it('when a message is not an order event, then it lands in the dead-letter topic with the reason and the partition keeps flowing', async () => {
    const producer = createProducer({
      brokers: shop.brokers,
      clientId: 'pipeline-test',
      ssl: false,
    });
    const poisonKey = `poison-${randomUUID()}`;
    await producer.send({
      messages: [{ topic: shop.topic, key: poisonKey, value: '{"not":"an order"' }],
    });
    await producer.close();
    const user = `after-poison-${randomUUID().slice(0, 8)}`;

    const deadLetters = await readTopic(shop.brokers, `${shop.topic}.dlq`);
    const dead = () =>
      deadLetters.seen.map((m) => ({
        key: m.key,
        reason: m.headers.get(eventHeaders.deadLetterReason) ?? '',
      }));
    try {
      const placed = await shop.buy(user, phone.id);
      const orderId = String(placed.body['id']);
      await until(() => dead().some((d) => d.key === poisonKey), 'the dead letter', 15_000);
      await until(() => smtp.received.some((m) => m.orderId === orderId), 'the next email', 10_000);
      assert.match(
        dead().find((d) => d.key === poisonKey)?.reason ?? '',
        /^invalid_event: not JSON/,
      );
    } finally {
      await deadLetters.stop();
    }
  });
});
