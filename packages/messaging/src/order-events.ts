import { z } from 'zod';

/** The topic order events are published to (its dead letters go to `<topic>.dlq`). */
export const ordersTopic = 'orders';

const money = z.number().int().nonnegative();

/**
 * `order.placed`, version 1: published once the order is committed (through the outbox),
 * keyed by user id so one user's events keep their order. Consumers must accept it more than
 * once (delivery is at least once) and dedupe on `eventId`.
 */
export const orderPlacedEvent = z.object({
  eventId: z.uuid(),
  type: z.literal('order.placed'),
  version: z.literal(1),
  occurredAt: z.iso.datetime({ offset: true }),
  order: z.object({
    id: z.string().regex(/^\d+$/),
    userId: z.string().min(1).max(64),
    status: z.string(),
    totalCents: money,
    currency: z.string().length(3),
    items: z
      .array(
        z.object({
          productId: z.string(),
          name: z.string(),
          quantity: z.number().int().positive(),
          unitPriceCents: money,
        }),
      )
      .min(1),
    createdAt: z.string(),
  }),
  contact: z.object({
    email: z.email().optional(),
    phone: z.string().optional(),
    pushToken: z.string().optional(),
  }),
});
export type OrderPlacedEvent = z.infer<typeof orderPlacedEvent>;

/** Kafka headers every Mela event carries, so a consumer can route or dedupe before parsing. */
export const eventHeaders = {
  eventId: 'mela-event-id',
  eventType: 'mela-event-type',
  /** On a dead letter: why it could not be handled. */
  deadLetterReason: 'mela-dlq-reason',
  /** On a dead letter: `topic/partition/offset` it came from. */
  deadLetterSource: 'mela-dlq-source',
  deadLetterAttempts: 'mela-dlq-attempts',
  /** On a redelivery (the retry topic): how many delayed rounds it has had, from 1. */
  retryRound: 'mela-retry-round',
  /** On a redelivery: when it is due again (epoch milliseconds). */
  retryDue: 'mela-retry-due',
} as const;
