import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  ConfigError,
  checkPlatformEnv,
  envList,
  loadConfig,
  platformConfigFrom,
  platformConfigSchema,
  platformEnv,
} from '../src/index.js';
import { testSecret } from './support.js';

describe('configuration from the environment', () => {
  it('when only the secret is set, then every documented default applies', () => {
    const config = loadConfig(platformConfigSchema, { AUTH_JWT_SECRET: testSecret });

    assert.equal(config.http.port, 3000);
    assert.equal(config.http.bodyLimitBytes, 102400);
    assert.equal(config.shutdown.timeoutMs, 10000);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.auth.devTokens, false);
  });

  it('when values are given, then they are parsed into typed, nested fields', () => {
    const config = loadConfig(platformConfigSchema, {
      AUTH_JWT_SECRET: testSecret,
      PORT: '8080',
      AUTH_DEV_TOKENS: 'yes',
      SHUTDOWN_DRAIN_DELAY_MS: '5000',
    });

    assert.equal(config.http.port, 8080);
    assert.equal(config.auth.devTokens, true);
    assert.equal(config.shutdown.drainDelayMs, 5000);
  });

  it('when several variables are bad, then one error names every one of them', () => {
    const error = captureConfigError(() =>
      loadConfig(platformConfigSchema, {
        AUTH_JWT_SECRET: 'short',
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        SHUTDOWN_TIMEOUT_MS: '-5',
        AUTH_JWKS_URL: 'not a url',
      }),
    );

    assert.deepEqual(error.issues.map((i) => i.variable).sort(), [
      'AUTH_JWKS_URL',
      'AUTH_JWT_SECRET',
      'LOG_LEVEL',
      'PORT',
      'SHUTDOWN_TIMEOUT_MS',
    ]);
    for (const variable of ['PORT', 'LOG_LEVEL', 'AUTH_JWT_SECRET', 'SHUTDOWN_TIMEOUT_MS']) {
      assert.match(error.message, new RegExp(`- ${variable}: `));
    }
  });

  it('when rate limits are changed by rule name, then those rules get the new limits and the prefix applies', () => {
    const config = loadConfig(platformConfigSchema, {
      AUTH_JWT_SECRET: testSecret,
      RATE_LIMITS: 'orders=10/60, products=500/30',
      RATE_LIMIT_KEY_PREFIX: 'test:rl:',
    });

    assert.deepEqual(config.rateLimit, {
      enabled: true,
      overrides: {
        orders: { points: 10, windowSeconds: 60 },
        products: { points: 500, windowSeconds: 30 },
      },
      keyPrefix: 'test:rl:',
      clientSecret: undefined,
    });
  });

  it('when a rate limit names no rule or is not requests/seconds, then start-up says so', () => {
    const unknown = captureConfigError(() =>
      loadConfig(platformConfigSchema, {
        AUTH_JWT_SECRET: testSecret,
        RATE_LIMITS: 'checkout=5/60',
      }),
    );
    assert.equal(
      unknown.issues[0]?.message,
      'no rate-limit rule "checkout"; the rules are search, products, product, cart-add, orders, login-failures, login',
    );

    const malformed = captureConfigError(() =>
      loadConfig(platformConfigSchema, { AUTH_JWT_SECRET: testSecret, RATE_LIMITS: 'orders=5' }),
    );
    assert.deepEqual(malformed.issues, [
      {
        variable: 'RATE_LIMITS',
        message: '"orders=5" is not rule=requests/seconds (e.g. orders=5/60)',
      },
    ]);
  });

  it('when no way to verify tokens is configured, then start-up fails and says what to set', () => {
    const error = captureConfigError(() => loadConfig(platformConfigSchema, {}));

    assert.equal(error.issues[0]?.variable, 'AUTH_JWT_SECRET');
    assert.match(error.message, /AUTH_JWT_SECRET or AUTH_JWKS_URL/);
  });

  it('when dev tokens are switched on in production, then start-up is refused', () => {
    const error = captureConfigError(() =>
      loadConfig(platformConfigSchema, {
        NODE_ENV: 'production',
        AUTH_JWT_SECRET: testSecret,
        AUTH_DEV_TOKENS: 'true',
      }),
    );

    assert.deepEqual(
      error.issues.map((i) => i.variable),
      ['AUTH_DEV_TOKENS'],
    );
  });

  it('then the configuration is frozen all the way down', () => {
    const config = loadConfig(platformConfigSchema, { AUTH_JWT_SECRET: testSecret });

    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.http));
    assert.throws(() => {
      (config.http as { port: number }).port = 1;
    }, TypeError);
  });

  it('when a service adds its own variables, then they are validated in the same pass as the platform ones', () => {
    const schema = z
      .object({ ...platformEnv, KAFKA_BROKERS: envList().pipe(z.array(z.string()).min(1)) })
      .superRefine(checkPlatformEnv)
      .transform((env) => ({ platform: platformConfigFrom(env), brokers: env.KAFKA_BROKERS }));

    const error = captureConfigError(() => loadConfig(schema, { PORT: 'x', KAFKA_BROKERS: ' , ' }));
    assert.deepEqual(error.issues.map((i) => i.variable).sort(), [
      'AUTH_JWT_SECRET',
      'KAFKA_BROKERS',
      'PORT',
    ]);

    const config = loadConfig(schema, {
      AUTH_JWT_SECRET: testSecret,
      KAFKA_BROKERS: 'a:9092, b:9092',
    });
    assert.deepEqual(config.brokers, ['a:9092', 'b:9092']);
  });
});

function captureConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the configuration to be rejected');
}
