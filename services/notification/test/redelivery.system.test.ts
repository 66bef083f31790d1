import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { metricTotal, until } from '@mela/testkit';
import { kafkaBrokers, localTopology } from '@mela/topology';
import {
  startPipeline,
  startSmtpSink,
  startWebhookSink,
  type Pipeline,
  type SmtpSink,
  type WebhookSink,
} from './support.js';

const phone = { id: 701, name: 'Retry Phone', priceCents: 1_299_900, stock: 100 };
const dlqCli = fileURLToPath(new URL('../src/dlq.cli.js', import.meta.url));

describe('notifications whose provider keeps failing', () => {
  let smtp: SmtpSink;
  let sms: WebhookSink;
  /** The SMS provider's behaviour, changed by the tests while it runs. */
  const provider: { failWith?: number } = {};
  let shop: Pipeline;

  const dlq = async (...args: string[]) =>
    (
      await promisify(execFile)(process.execPath, [dlqCli, ...args], {
        env: { PATH: process.env['PATH'] ?? '', ...shop.dlqEnv },
      })
    ).stdout;
  const deadLetters = async () =>
    JSON.parse(await dlq('list', '--json')) as { orderId: string; replayed: boolean }[];
  const smsEffects = (orderId: string) =>
    [...sms.effects.values()].filter((b) => String(b['text']).includes(`order ${orderId} `));
  const emails = (orderId: string) => smtp.received.filter((m) => m.orderId === orderId);

  before(async () => {
    smtp = await startSmtpSink();
    sms = await startWebhookSink(provider);
    shop = await startPipeline({
      brokers: kafkaBrokers(localTopology()),
      smtp,
      sms,
      products: [phone],
      notificationEnv: { NOTIFY_MAX_ATTEMPTS: '2', NOTIFY_REDELIVERY_DELAYS_SECONDS: '2,2' },
    });
  });
  after(async () => {
    await shop.close();
    await smtp.close();
    await sms.close();
  });

  it('when it fails past the quick retries, then the event waits its round in the retry topic and is delivered once the provider is back, not dead-lettered', async () => {
    provider.failWith = 503;
    const placed = await shop.buy(`patient-${randomUUID().slice(0, 8)}`, phone.id);
    const orderId = String(placed.body['id']);
    await until(() => emails(orderId).length === 1, 'the email', 15_000);
    const calls = () =>
      sms.calls.filter((c) => String(c.body['text']).includes(`order ${orderId} `));
    await until(() => calls().length >= 2, 'the quick attempts', 15_000);

    provider.failWith = undefined;

    await until(() => smsEffects(orderId).length === 1, 'the SMS on a later round', 20_000);
    assert.equal(emails(orderId).length, 1, 'the email is not sent again');
    assert.ok((await metricTotal([shop.notification], 'notification_redeliveries_total')) >= 1);
    assert.deepEqual(
      (await deadLetters()).filter((l) => l.orderId === orderId),
      [],
    );
  });

  it('when it fails past the last round, then it is dead-lettered; dlq list shows it and dlq replay delivers it once when the provider is back', async () => {
    provider.failWith = 503;
    const placed = await shop.buy(`unlucky-${randomUUID().slice(0, 8)}`, phone.id);
    const orderId = String(placed.body['id']);

    await until(
      async () => (await deadLetters()).some((l) => l.orderId === orderId && !l.replayed),
      'the dead letter',
      40_000,
    );
    provider.failWith = undefined;
    const replayed = await dlq('replay');
    await until(() => smsEffects(orderId).length === 1, 'the replayed SMS', 20_000);
    const again = await dlq('replay');

    assert.match(replayed, new RegExp(`order ${orderId}`));
    assert.match(again, /nothing to replay/);
    assert.equal(emails(orderId).length, 1, 'the email that went out first is not repeated');
    assert.ok((await deadLetters()).every((l) => l.replayed));
    assert.equal(smsEffects(orderId).length, 1);
  });
});
