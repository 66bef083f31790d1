import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  pino,
  type DestinationStream,
  type Logger as PinoLogger,
  type LevelWithSilent,
} from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { currentRequestId, requestIdHeader } from './request-context.js';

export { requestIdHeader } from './request-context.js';

export type { PinoLogger };

export interface LoggerOptions {
  /** The service name, logged as `service` on every line. */
  readonly service: string;
  /** @default 'info' */
  readonly level?: LevelWithSilent;
  /** Where lines go. @default standard output */
  readonly destination?: DestinationStream;
}

/** A JSON logger with ISO timestamps, `service` on every line and secrets redacted. */
export function createLogger(options: LoggerOptions): PinoLogger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Any line written while serving a request says which request, even from a shared logger.
      mixin: () => {
        const requestId = currentRequestId();
        return requestId === undefined ? {} : { requestId };
      },
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
}

const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Takes the caller's `x-request-id` when it is a sane token (so one id follows a request
 * through the edge and every service), otherwise makes a new one.
 */
export function requestIdFor(req: IncomingMessage): string {
  const incoming = req.headers[requestIdHeader];
  const candidate = Array.isArray(incoming) ? incoming[0] : incoming;
  return candidate !== undefined && acceptableRequestId.test(candidate) ? candidate : randomUUID();
}

/**
 * Express middleware that gives each request an id (echoed in the response header), a child
 * logger at `req.log` and one completion line with status and duration.
 */
export function requestLogging(logger: PinoLogger): HttpLogger {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestIdFor(req);
      res.setHeader(requestIdHeader, id);
      return id;
    },
    customLogLevel: (_req, res, error) => {
      if (error !== undefined || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return 'info';
    },
    autoLogging: { ignore: (req) => req.url === '/livez' || req.url === '/metrics' },
    serializers: {
      req: (req: { id: unknown; method: unknown; url: unknown }) => ({
        id: req.id,
        method: req.method,
        url: req.url,
      }),
      res: (res: { statusCode: unknown }) => ({ statusCode: res.statusCode }),
    },
  });
}
