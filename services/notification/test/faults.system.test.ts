import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startOwnKafka, until, type OwnKafka } from '@mela/testkit';
import {
  startPipeline,
  startSmtpSink,
  startWebhookSink,
  type Pipeline,
  type SmtpSink,
  type WebhookSink,
} from './support.js';

const phone = { id: 501, name: 'Fault Phone', priceCents: 1_099_900, stock: 1000 };

/** Order ids whose SMS (the slow channel here) had an effect at the provider. */
const smsOrderIds = (sms: WebhookSink) =>
  [...sms.effects.values()].map((b) => /order (\d+)/.exec(String(b['text']))?.[1]);

describe('the order pipeline under faults', () => {
  let kafka: OwnKafka;
  let smtp: SmtpSink;
  let sms: WebhookSink;
  let shop: Pipeline;
  before(async () => {
    kafka = await startOwnKafka();
    smtp = await startSmtpSink();
    // A slow provider, so a kill lands while deliveries are in flight.
    sms = await startWebhookSink({ delayMs: 40 });
    shop = await startPipeline({ brokers: kafka.brokers, smtp, sms, products: [phone] });
  });
  after(async () => {
    await shop.close();
    await kafka.stop();
    await smtp.close();
    await sms.close();
  });

  it('when the broker is down while orders are placed, then they succeed and every notification goes out once after it returns', async () => {
    await kafka.kill();
    const placed = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        shop.buy(`outage-${String(i)}-${randomUUID().slice(0, 6)}`, phone.id),
      ),
    );
    assert.deepEqual(
      placed.map((p) => p.status),
      Array(10).fill(201),
    );
    const ids = placed.map((p) => String(p.body['id']));

    await kafka.start();
    await until(
      () => ids.every((id) => smtp.received.some((m) => m.orderId === id)),
      'every email after the broker returned',
      60_000,
    );
    await until(() => ids.every((id) => smsOrderIds(sms).includes(id)), 'every SMS', 30_000);
    for (const id of ids) {
      assert.equal(smtp.received.filter((m) => m.orderId === id).length, 1, `one email for ${id}`);
    }
  });

  it('when the notification service is killed mid-batch, then no event is lost and none has a second effect', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const p = await shop.buy(`batch-${String(i)}-${randomUUID().slice(0, 6)}`, phone.id);
      ids.push(String(p.body['id']));
    }
    await until(
      () => ids.filter((id) => smsOrderIds(sms).includes(id)).length >= 5,
      'the batch to be under way',
      30_000,
    );
    await shop.notification.kill();
    const beforeRestart = ids.filter((id) => smsOrderIds(sms).includes(id)).length;
    assert.ok(beforeRestart < ids.length, 'killed while events were still waiting');

    shop.notification = await shop.startNotification();
    await until(
      () => ids.every((id) => smsOrderIds(sms).includes(id)),
      'every SMS after the restart',
      60_000,
    );
    await until(
      () => ids.every((id) => smtp.received.some((m) => m.orderId === id)),
      'every email after the restart',
      30_000,
    );

    for (const id of ids) {
      assert.equal(smsOrderIds(sms).filter((x) => x === id).length, 1, `one SMS effect for ${id}`);
      const mails = smtp.received.filter((m) => m.orderId === id);
      // A resend (the crash came between the relay's acceptance and the delivery log) carries
      // the first one's Message-ID, so the mail system can drop it.
      assert.equal(new Set(mails.map((m) => m.messageId)).size, 1, `one Message-ID for ${id}`);
      assert.ok(mails.length <= 2, `${String(mails.length)} emails for ${id}`);
    }
    // Resends after the crash are bounded by what was in flight (one per partition), and each
    // carried the key the provider needed to drop it.
    const smsCalls = sms.calls.filter((c) =>
      ids.some((id) => String(c.body['text']).includes(`order ${id} `)),
    );
    const mailsSent = smtp.received.filter((m) => ids.includes(m.orderId)).length;
    for (const [what, sent] of [
      ['SMS calls', smsCalls.length],
      ['emails', mailsSent],
    ] as const) {
      assert.ok(
        sent <= ids.length + 3,
        `${String(sent)} ${what} for ${String(ids.length)} events: more than one resend per partition`,
      );
    }
  });
});
