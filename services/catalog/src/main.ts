// The catalog service's entry point. Tracing starts first: its instrumentations patch the clients
// (http, express, mysql2, ioredis) as the service's modules load them, so those load after it.
import { startTracing } from '@mela/platform/tracing';

const tracing = startTracing('catalog');
const { run } = await import('./service.js');
await run(tracing);
