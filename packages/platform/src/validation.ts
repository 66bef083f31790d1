import type { z } from 'zod';
import { ValidationError } from '@mela/core';

/**
 * Parses untrusted input (a body, query or params) with a zod schema; on failure throws a
 * {@link ValidationError} naming every bad field, which renders as a 400 problem.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: 'body' | 'query' | 'params' | 'headers',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({
      path: [where, ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  );
}
