import { createHash } from 'node:crypto';
import { z } from 'zod';
import { UnknownProductsError } from './errors.js';

export const paymentMethods = ['upi', 'card', 'netbanking', 'cod'] as const;
export type PaymentMethod = (typeof paymentMethods)[number];

const text = (max: number) => z.string().trim().min(1).max(max);

export const shippingAddressSchema = z.strictObject({
  name: text(100),
  line1: text(200),
  line2: text(200).optional(),
  city: text(100),
  postalCode: z.string().regex(/^[A-Za-z0-9 -]{3,10}$/, 'must be a postal code'),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as IN'),
});
export type ShippingAddress = z.infer<typeof shippingAddressSchema>;

export const contactSchema = z.strictObject({
  email: z
    .email()
    .max(254)
    // What mail servers take (RFC 5321): a local part of 64 characters at most, labels of 63.
    .regex(/^[^@]{1,64}@(?:[^.@]{1,63}\.)+[^.@]{2,63}$/, 'is longer than mail servers accept')
    .optional(),
  phone: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +919812345678')
    .optional(),
  pushToken: z.string().min(8).max(512).optional(),
});
export type Contact = z.infer<typeof contactSchema>;

/** `POST /api/orders`: everything optional; the cart is what is ordered. */
export const placeOrderSchema = z.strictObject({
  shippingAddress: shippingAddressSchema.optional(),
  paymentMethod: z.enum(paymentMethods).default('upi'),
  contact: contactSchema.optional(),
});
export type PlaceOrderInput = z.infer<typeof placeOrderSchema>;

/** What an order needs beyond the cart, with the dev defaults filled in. */
export interface OrderDetails {
  readonly shippingAddress: ShippingAddress;
  readonly paymentMethod: PaymentMethod;
  readonly contact: Contact;
}

/**
 * Fills what the shopper left out with sensible development defaults: a demo address in
 * Bengaluru and an example.com mailbox named after the user (a user id that is already an
 * address is used as is). Production clients send their own.
 */
export function withDefaults(userId: string, input: PlaceOrderInput): OrderDetails {
  const email =
    input.contact?.email ??
    (z.email().safeParse(userId).success ? userId : `${userId.replace(/@/g, '.')}@example.com`);
  return {
    shippingAddress: input.shippingAddress ?? {
      name: userId,
      line1: '1 MG Road',
      city: 'Bengaluru',
      postalCode: '560001',
      country: 'IN',
    },
    paymentMethod: input.paymentMethod,
    contact: { ...input.contact, email },
  };
}

const idempotencyKeyPattern = /^[A-Za-z0-9._:-]{8,255}$/;

/** The `Idempotency-Key` header as {@link parseIdempotencyKey} accepts it: bare or quoted. */
export const idempotencyKeySchema = z
  .string()
  .regex(
    new RegExp(
      `^(?:${idempotencyKeyPattern.source.slice(1, -1)}|"${idempotencyKeyPattern.source.slice(1, -1)}")$`,
    ),
  );

/**
 * `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): a Structured Field string
 * (`"…"`) or, as most clients send it, the bare token. 8–255 characters of letters, digits
 * and `-_.:`, so a UUID or a ULID fits and nothing surprising reaches the database.
 */
export function parseIdempotencyKey(
  header: string | undefined,
): { readonly key: string } | { readonly problem: 'missing' | 'invalid' } {
  if (header === undefined || header.trim() === '') return { problem: 'missing' };
  const raw = header.trim();
  const value =
    raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw;
  return idempotencyKeyPattern.test(value) ? { key: value } : { problem: 'invalid' };
}

/** Fingerprint of a request: the same key with another body is a conflict, not a replay. */
export function requestFingerprint(input: PlaceOrderInput): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A cart line as the order service reads it: only what and how many; prices come from commerce. */
export interface CartLine {
  readonly productId: string;
  readonly quantity: number;
}

/** A product's sellable facts, read from the commerce keyspace at order time. */
export interface ProductFacts {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
  readonly currency: string;
}

export interface OrderItem {
  readonly productId: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
  readonly lineTotalCents: number;
}

export type OrderStatus = 'confirmed';

export interface Order {
  readonly id: string;
  readonly userId: string;
  readonly status: OrderStatus;
  readonly items: readonly OrderItem[];
  readonly totalCents: number;
  readonly currency: string;
  readonly paymentMethod: PaymentMethod;
  readonly paymentId: string;
  readonly shippingAddress: ShippingAddress;
  readonly contact: Contact;
  readonly createdAt: string;
}

/**
 * Prices the cart from commerce's current prices. Throws {@link UnknownProductsError} naming
 * every line whose product is gone; a cart mixing currencies cannot be one order.
 */
export function priceLines(
  lines: readonly CartLine[],
  products: ReadonlyMap<string, ProductFacts>,
): { readonly items: OrderItem[]; readonly totalCents: number; readonly currency: string } {
  const missing = lines.filter((l) => !products.has(l.productId)).map((l) => l.productId);
  if (missing.length > 0) throw new UnknownProductsError(missing);
  const items = lines.map((line) => {
    const product = products.get(line.productId) as ProductFacts;
    return {
      productId: line.productId,
      name: product.name,
      quantity: line.quantity,
      unitPriceCents: product.priceCents,
      lineTotalCents: product.priceCents * line.quantity,
    };
  });
  const currencies = new Set(
    lines.map((l) => (products.get(l.productId) as ProductFacts).currency),
  );
  if (currencies.size > 1)
    throw new Error(`a cart in several currencies: ${[...currencies].join(', ')}`);
  return {
    items,
    totalCents: items.reduce((sum, item) => sum + item.lineTotalCents, 0),
    currency: [...currencies][0] ?? 'INR',
  };
}

/** The public view of an order (what `POST` answers and `GET` shows). */
export function orderView(order: Order) {
  return {
    id: order.id,
    status: order.status,
    items: order.items,
    totalCents: order.totalCents,
    currency: order.currency,
    paymentMethod: order.paymentMethod,
    payment: { id: order.paymentId },
    shippingAddress: order.shippingAddress,
    contact: order.contact,
    createdAt: order.createdAt,
  };
}
export type OrderView = ReturnType<typeof orderView>;

export const listOrdersQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(50).default(20),
  /** `nextCursor` of the page before: the order id the next page starts below. */
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,19}$/, 'is not a cursor this API gave out')
    .optional(),
});

export const orderIdSchema = z.string().regex(/^[1-9]\d{0,19}$/, 'must be an order id');
