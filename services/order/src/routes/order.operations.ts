import { operation } from '@mela/platform';
import { z } from 'zod';
import {
  contactSchema,
  idempotencyKeySchema,
  listOrdersQuery,
  orderIdSchema,
  paymentMethods,
  placeOrderSchema,
  shippingAddressSchema,
  type OrderView,
} from '../domain/order.js';

/** An order as the API answers it (checked against the domain's view when compiling). */
const order = z
  .object({
    id: orderIdSchema,
    status: z.literal('confirmed'),
    items: z.array(
      z.object({
        productId: z.string(),
        name: z.string(),
        quantity: z.int().min(1),
        unitPriceCents: z.int().min(0),
        lineTotalCents: z.int().min(0),
      }),
    ),
    totalCents: z.int().min(0),
    currency: z.string(),
    paymentMethod: z.enum(paymentMethods),
    payment: z.object({ id: z.string() }),
    shippingAddress: shippingAddressSchema,
    contact: contactSchema,
    createdAt: z.string(),
  })
  .meta({ id: 'Order' }) satisfies z.ZodType<OrderView>;

const tag = 'orders';

/** The order service's API, the caller's own orders: every route in order.routes.ts serves one. */
export const orderOperations = {
  place: operation({
    method: 'post',
    path: '/api/orders',
    operationId: 'placeOrder',
    summary: 'Orders what is in the caller’s cart, once per Idempotency-Key',
    tag,
    auth: 'user',
    headers: z.object({
      'Idempotency-Key': idempotencyKeySchema.meta({
        description: 'Makes a retry safe: the same key answers the first request’s order.',
      }),
    }),
    body: placeOrderSchema,
    bodyOptional: true,
    responses: {
      201: {
        description: 'The order, placed now or by an earlier request with the same key.',
        body: order,
        headers: z.object({
          Location: z.string(),
          'Idempotent-Replayed': z
            .enum(['true', 'false'])
            .meta({ description: 'true when an earlier request with this key placed it.' }),
        }),
        links: {
          getOrder: { operationId: 'getOrder', parameters: { id: '$response.body#/id' } },
        },
      },
    },
    problems: [402, 409, 422, 503],
  }),
  list: operation({
    method: 'get',
    path: '/api/orders',
    operationId: 'listOrders',
    summary: 'The caller’s orders, newest first, a page at a time',
    tag,
    auth: 'user',
    query: listOrdersQuery,
    responses: {
      200: {
        description: 'A page of orders.',
        body: z.object({ orders: z.array(order), nextCursor: z.string().nullable() }),
      },
    },
    problems: [503],
  }),
  get: operation({
    method: 'get',
    path: '/api/orders/:id',
    operationId: 'getOrder',
    summary: 'One of the caller’s orders (another user’s answers 404, as a missing one)',
    tag,
    auth: 'user',
    params: z.object({ id: orderIdSchema }),
    responses: { 200: { description: 'The order.', body: order } },
    problems: [404, 503],
  }),
};
