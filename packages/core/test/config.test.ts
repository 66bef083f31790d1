import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, envBool, envInt, envList, loadConfig } from '../src/index.js';

const schema = z.object({
  PORT: envInt({ min: 1, max: 65535 }).default(3000),
  ON: envBool().default(false),
  HOSTS: envList().default([]),
  NESTED: z
    .string()
    .transform((raw) => ({ list: raw.split(':') }))
    .optional(),
});

describe('configuration from the environment (core)', () => {
  it('when variables are given, then they are parsed and the result is frozen all the way down', () => {
    const config = loadConfig(schema, { PORT: ' 8080 ', ON: 'yes', HOSTS: 'a, ,b', NESTED: 'x:y' });

    assert.deepEqual(config, {
      PORT: 8080,
      ON: true,
      HOSTS: ['a', 'b'],
      NESTED: { list: ['x', 'y'] },
    });
    assert.ok(Object.isFrozen(config.NESTED.list));
  });

  it('when several are bad, then one ConfigError names each variable with its problem', () => {
    assert.throws(
      () => loadConfig(schema, { PORT: '70000', ON: 'maybe' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues.map((i) => i.variable).sort(), ['ON', 'PORT']);
        assert.match(error.message, /Invalid configuration \(2 problems\)/);
        assert.match(error.message, /PORT: expected an integer ≤ 65535/);
        return true;
      },
    );
  });

  it('when an integer is not one, then the message gives the bounds', () => {
    assert.throws(
      () => loadConfig(schema, { PORT: '1e3' }),
      /PORT: expected an integer between 1 and 65535/,
    );
  });
});
