import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

interface RequestContext {
  readonly requestId: string;
}

/** The header a request id travels in, between the edge, the services and the logs. */
export const requestIdHeader = 'x-request-id';

const storage = new AsyncLocalStorage<RequestContext>();

/** Middleware (after the request logger): makes the request id visible to all code it calls. */
export function requestContext(req: Request, _res: Response, next: NextFunction): void {
  storage.run({ requestId: typeof req.id === 'string' ? req.id : JSON.stringify(req.id) }, next);
}

/** The id of the request being served, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Headers an outgoing call to another service carries, so one id follows the whole request. */
export function propagationHeaders(): Record<string, string> {
  const requestId = currentRequestId();
  return requestId === undefined ? {} : { [requestIdHeader]: requestId };
}
