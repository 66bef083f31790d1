import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OrderPlacedEvent } from '@mela/messaging';
import { confirmationEmail, confirmationPush, confirmationSms } from '../src/domain/messages.js';

function placed(currency: string, totalCents: number): OrderPlacedEvent {
  return {
    eventId: '7a0c2f0e-8d1b-4c43-9a55-0d6f0f3b8a11',
    type: 'order.placed',
    version: 1,
    occurredAt: '2026-12-03T10:00:00.000Z',
    order: {
      id: 'o-1',
      userId: 'asha',
      status: 'confirmed',
      totalCents,
      currency,
      items: [
        { productId: '42', name: 'Kurta <silk>', quantity: 2, unitPriceCents: totalCents / 2 },
      ],
      createdAt: '2026-12-03T10:00:00.000Z',
    },
    contact: { email: 'asha@example.test' },
  };
}

describe('the confirmation messages', () => {
  it('when an order is in rupees, then every message gives its amounts in Indian grouping', () => {
    const event = placed('INR', 12_345_678);
    const email = confirmationEmail(event, 'asha@example.test');
    assert.equal(email.subject, 'Mela order o-1 confirmed — ₹1,23,456.78');
    assert.match(email.text, /^2 × Kurta <silk> — ₹1,23,456\.78$/m);
    assert.match(email.html, /<li>2 × Kurta &#60;silk&#62; — ₹1,23,456\.78<\/li>/);
    assert.equal(confirmationSms(event), 'Mela: order o-1 confirmed, ₹1,23,456.78. Thank you!');
    assert.equal(confirmationPush(event).body, 'Order o-1: ₹1,23,456.78');
  });

  it('when orders in two currencies follow each other, then each keeps its own symbol', () => {
    assert.equal(
      confirmationSms(placed('USD', 1_999)),
      'Mela: order o-1 confirmed, $19.99. Thank you!',
    );
    assert.equal(
      confirmationSms(placed('INR', 1_999)),
      'Mela: order o-1 confirmed, ₹19.99. Thank you!',
    );
    assert.equal(
      confirmationSms(placed('USD', 250)),
      'Mela: order o-1 confirmed, $2.50. Thank you!',
    );
  });
});
