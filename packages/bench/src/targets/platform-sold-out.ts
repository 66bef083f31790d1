import {
  ApiRouter,
  AppError,
  createPlatform,
  createServiceApp,
  loadConfig,
  operation,
  platformConfigSchema,
} from '@mela/platform';
import { listenBacklog } from '@mela/topology';
import { cpuSeconds, serveTarget } from './serve.js';

/**
 * The flash sale's second baseline: Mela's HTTP platform as every service runs it (express,
 * request id, log line, metrics, security headers, JSON body, the caller's token verified),
 * with one route that answers every checkout sold out at once: no cart, no gate, no SQL. Its
 * CPU per decision is what the platform adds to a bare server's; `GET /cpu` answers it.
 */
const platform = createPlatform('order', loadConfig(platformConfigSchema, process.env));
const place = operation({
  method: 'post',
  path: '/api/orders',
  operationId: 'placeOrder',
  summary: 'Answers every checkout sold out',
  tag: 'orders',
  auth: 'user',
  bodyOptional: true,
  responses: { 201: { description: 'Never: everything is sold out.' } },
  problems: [409],
});
const app = createServiceApp(platform, (routes, mount) => {
  routes.get('/cpu', (_req, res) => {
    res.json(cpuSeconds());
  });
  mount(
    new ApiRouter(platform.tokens).handle(place, () => {
      throw new AppError('sold_out', 409, 'Sold out', { detail: 'Product 900000 is sold out.' });
    }),
  );
});
serveTarget(app, listenBacklog);
