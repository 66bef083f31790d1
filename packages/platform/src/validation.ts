import type { z } from 'zod';
import { ValidationError, type FieldIssue } from '@mela/core';

export type InputPart = 'body' | 'query' | 'params' | 'headers';

/** A zod error's issues as the fields of a 400 problem, each path prefixed with `where`. */
export function fieldIssues(error: z.ZodError, where: InputPart): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/**
 * Parses untrusted input (a body, query or params) with a zod schema; on failure throws a
 * {@link ValidationError} naming every bad field, which renders as a 400 problem.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: InputPart,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(fieldIssues(result.error, where));
}
