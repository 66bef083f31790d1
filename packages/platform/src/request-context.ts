import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import { currentTraceparent, traceparentHeader } from '@mela/core';

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

/**
 * Headers an outgoing call to another service carries, so one id and one trace follow the
 * whole request: its id, and its trace's `traceparent` when it is traced.
 */
export function propagationHeaders(): Record<string, string> {
  const requestId = currentRequestId();
  const traceparent = currentTraceparent();
  return {
    ...(requestId === undefined ? {} : { [requestIdHeader]: requestId }),
    ...(traceparent === undefined ? {} : { [traceparentHeader]: traceparent }),
  };
}
