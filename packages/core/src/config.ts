import { z } from 'zod';

/** Thrown when the environment does not describe a valid configuration; names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly { readonly variable: string; readonly message: string }[];

  constructor(issues: readonly { readonly variable: string; readonly message: string }[]) {
    super(
      `Invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((issue) => `  - ${issue.variable}: ${issue.message}`).join('\n'),
    );
    this.issues = issues;
  }
}

export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * Parses `env` (usually `process.env`) with a zod schema whose keys are variable names, and
 * returns the result deeply frozen. Every bad variable is reported in one {@link ConfigError}.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): DeepReadonly<z.output<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: issue.path.length > 0 ? issue.path.map(String).join('.') : '(environment)',
        message: issue.message,
      })),
    );
  }
  return deepFreeze(result.data) as DeepReadonly<z.output<S>>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** An integer variable within bounds, e.g. `envInt({ min: 1, max: 65535 })`. */
export function envInt(bounds: { min?: number; max?: number } = {}) {
  const min = bounds.min ?? Number.MIN_SAFE_INTEGER;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, `expected an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `expected an integer ≥ ${min}`)
        .max(max, `expected an integer ≤ ${max}`),
    );
}

/** A TCP port; 0 asks the OS for a free one. */
export const envPort = () => envInt({ min: 0, max: 65535 });

/** `true/false`, `1/0`, `yes/no`, `on/off`. */
export const envBool = () =>
  z.stringbool({
    truthy: ['true', '1', 'yes', 'on'],
    falsy: ['false', '0', 'no', 'off'],
  });

/** A comma-separated list; empty entries are dropped. */
export const envList = () =>
  z.string().transform((raw) =>
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );
