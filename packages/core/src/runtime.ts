/** What a library needs of a logger: levelled lines with structured fields, and children. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
}

/** One log line: a message, or fields and then a message (pino's argument order). */
export interface LogFn {
  (message: string): void;
  (fields: object, message?: string): void;
}

/** The time, injected so that workers and domain rules can be tested without waiting. */
export type Clock = () => Date;

/** The real clock. */
export const systemClock: Clock = () => new Date();
