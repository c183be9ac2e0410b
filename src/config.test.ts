import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('configuration', () => {
  it('has working defaults for the embedded mode', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      logLevel: 'info',
      requestTimeoutMs: 15_000,
    });
    expect(config.bodyLimitBytes).toBe(1024 * 1024);
    // gRPC and trace export are off unless configured.
    expect(config).toMatchObject({ grpcPort: 0, otlpEndpoint: undefined, graphqlMaxDepth: 8 });
    expect(config.inventoryLowThreshold).toBe(5);
    expect(loadConfig({ INVENTORY_LOW_THRESHOLD: '0' }).inventoryLowThreshold).toBe(0);
    expect(config.stockAlertEmails).toEqual([]);
    expect(
      loadConfig({ STOCK_ALERT_EMAILS: ' ops@shop.example, buyer@shop.example ' }).stockAlertEmails,
    ).toEqual(['ops@shop.example', 'buyer@shop.example']);
  });

  it('keeps images in a directory unless an S3 bucket is fully named', () => {
    expect(loadConfig({}).objectStorage).toBeUndefined();
    const s3 = {
      S3_URL: 'http://127.0.0.1:9000',
      S3_BUCKET: 'shop-images',
      S3_ACCESS_KEY_ID: 'a',
      S3_SECRET_ACCESS_KEY: 'b',
    };
    expect(loadConfig(s3).objectStorage).toEqual({
      url: 'http://127.0.0.1:9000',
      bucket: 'shop-images',
      region: 'us-east-1',
      accessKeyId: 'a',
      secretAccessKey: 'b',
    });
    expect(() => loadConfig({ ...s3, S3_BUCKET: '' })).toThrow(/S3_BUCKET/);
    expect(() => loadConfig({ ...s3, S3_BUCKET: 'Not_A_Bucket' })).toThrow(/S3_BUCKET/);
    expect(() => loadConfig({ ...s3, S3_SECRET_ACCESS_KEY: '' })).toThrow(/S3_SECRET_ACCESS_KEY/);
    expect(() => loadConfig({ ...s3, S3_URL: 'ftp://host' })).toThrow(ConfigError);
  });

  it('names the payment provider, and Stripe needs its keys', () => {
    expect(loadConfig({}).payments).toEqual({ provider: 'sandbox', capture: 'on_order' });
    const stripe = loadConfig({
      PAYMENTS_PROVIDER: 'stripe',
      STRIPE_SECRET_KEY: 'sk_test_abc123',
      STRIPE_WEBHOOK_SECRET: 'whsec_abc',
    }).payments;
    expect(stripe).toMatchObject({ provider: 'stripe', stripe: { apiBase: undefined } });
    expect(() => loadConfig({ PAYMENTS_PROVIDER: 'stripe', STRIPE_WEBHOOK_SECRET: 'whsec_abc' })).toThrow(
      /STRIPE_SECRET_KEY must be set/,
    );
    expect(() => loadConfig({ PAYMENTS_PROVIDER: 'stripe', STRIPE_SECRET_KEY: 'sk_live_x' })).toThrow(
      /STRIPE_WEBHOOK_SECRET must be set/,
    );
    expect(() => loadConfig({ PAYMENTS_CAPTURE: 'on_delivery' })).toThrow(
      /PAYMENTS_CAPTURE must be one of on_order, on_shipment/,
    );
    expect(loadConfig({ PAYMENTS_CAPTURE: 'on_shipment' }).payments.capture).toBe('on_shipment');
    expect(loadConfig({}).payments.capture).toBe('on_order');
    expect(() => loadConfig({ PAYMENTS_PROVIDER: 'paypal' })).toThrow(
      /PAYMENTS_PROVIDER must be one of sandbox, stripe/,
    );
  });

  it.each([
    [{ PORT: 'abc' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must be between 0 and 65535/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must use postgres: or postgresql:/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ CORS_ORIGINS: 'not a url' }, /CORS_ORIGINS entries/],
    [{ EMPORIUM_ADMIN_EMAIL: 'a@b.c' }, /must be set together/],
    [{ EMPORIUM_ADMIN_EMAIL: 'a@b.c', EMPORIUM_ADMIN_PASSWORD: 'short' }, /at least 8 characters/],
    [{ REQUEST_TIMEOUT_MS: '5' }, /REQUEST_TIMEOUT_MS must be between/],
    [{ GRPC_PORT: '70000' }, /GRPC_PORT must be between 0 and 65535/],
    [{ GRAPHQL_MAX_DEPTH: '1' }, /GRAPHQL_MAX_DEPTH must be between/],
    [{ GRAPHQL_MAX_COST: 'lots' }, /GRAPHQL_MAX_COST must be an integer/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT/],
    [{ INVENTORY_LOW_THRESHOLD: '-1' }, /INVENTORY_LOW_THRESHOLD must be between 0 and/],
    [{ INVENTORY_LOW_THRESHOLD: 'few' }, /INVENTORY_LOW_THRESHOLD must be an integer/],
    [
      { STOCK_ALERT_EMAILS: 'ops@shop.example, Ops <ops@shop.example>' },
      /STOCK_ALERT_EMAILS must be comma-separated/,
    ],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('makes the CLI exit non-zero with the reason', () => {
    const root = path.resolve(import.meta.dirname, '..');
    const result = spawnSync(path.join(root, 'node_modules/.bin/node'), ['src/main.ts', 'migrate'], {
      cwd: root,
      env: { ...process.env, PORT: 'eighty', DATABASE_URL: '' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('invalid configuration: PORT must be an integer');
  });
});
