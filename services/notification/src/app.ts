import type { Express } from 'express';
import { createServiceApp, type Platform } from '@mela/platform';

/** The notification service has no API of its own: health, readiness and metrics only. */
export function createApp(deps: { readonly platform: Platform }): Express {
  return createServiceApp(deps.platform, () => undefined);
}
