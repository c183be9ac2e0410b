import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '../../platform/errors.ts';
import { createLogger } from '../../platform/observability/logger.ts';
import { createMetrics, type Metrics } from '../../platform/observability/metrics.ts';
import { createSandboxProvider, type SandboxProviderOptions } from './client.ts';
import { ProviderRejection } from './errors.ts';
import type { PaymentProvider } from './provider.ts';
import { type Sandbox, startSandbox } from './sandbox.ts';

const metricValue = async (metrics: Metrics, name: string, labels: Record<string, string> = {}) => {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((each) => each.name === name);
  const match = metric?.values.find((value) =>
    Object.entries(labels).every(([label, wanted]) => value.labels[label] === wanted),
  );
  return match?.value ?? 0;
};

describe('the sandbox provider adapter', () => {
  let sandbox: Sandbox;
  let metrics: Metrics;
  let client: PaymentProvider;
  const make = (options: Partial<SandboxProviderOptions> = {}) => {
    client = createSandboxProvider({
      baseUrl: sandbox.url,
      timeoutMs: 1000,
      metrics,
      logger: createLogger('silent'),
      retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
      breaker: { volumeThreshold: 100 },
      ...options,
    });
    return client;
  };
  const input = (token: string, reference = 'order-1') => ({
    amount: 2500,
    currency: 'EUR',
    token,
    reference,
  });
  const call = (key: string, signal = AbortSignal.timeout(5000)) => ({ key, signal });

  beforeEach(async () => {
    sandbox = await startSandbox({ slowMs: 10_000 });
    metrics = createMetrics();
  });
  afterEach(async () => {
    client?.close();
    await sandbox.close();
  });

  it('returns approvals and declines as answers; a decline is not retried', async () => {
    make();
    expect(await client.authorize(input('tok_visa'), call('a'))).toMatchObject({ status: 'authorized' });
    expect(await client.authorize(input('tok_declined', 'order-2'), call('b'))).toMatchObject({
      status: 'declined',
    });
    expect(sandbox.ledger().map((entry) => entry.kind)).toEqual(['authorize', 'decline']);
    expect(await metricValue(metrics, 'payments_provider_retries_total')).toBe(0);
    expect(
      await metricValue(metrics, 'payments_provider_calls_total', {
        operation: 'authorize',
        outcome: 'declined',
      }),
    ).toBe(1);
  });

  it('does not retry a 4xx: it is the request that is wrong', async () => {
    make();
    await expect(client.capture('auth_missing', undefined, call('c'))).rejects.toBeInstanceOf(
      ProviderRejection,
    );
    expect(await metricValue(metrics, 'payments_provider_retries_total')).toBe(0);
  });

  it('retries lost answers with the same key: exactly one authorization in the ledger', async () => {
    make();
    sandbox.setFaults({ failNext: 2 });
    const auth = await client.authorize(input('tok_visa'), call('order-1:authorize'));
    expect(auth.status).toBe('authorized');
    expect(sandbox.ledger()).toEqual([
      expect.objectContaining({ kind: 'authorize', authorizationId: auth.id, key: 'order-1:authorize' }),
    ]);
    expect(await metricValue(metrics, 'payments_provider_retries_total', { operation: 'authorize' })).toBe(2);
  });

  it('gives up on a provider that keeps failing with 503 PAYMENT_PROVIDER_UNAVAILABLE', async () => {
    make();
    const error = await client.authorize(input('tok_error'), call('e')).catch((caught) => caught);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ status: 503, code: 'PAYMENT_PROVIDER_UNAVAILABLE' });
    expect(error.headers['retry-after']).toBeDefined();
    expect(await metricValue(metrics, 'payments_provider_retries_total', { operation: 'authorize' })).toBe(2);
    expect(
      await metricValue(metrics, 'payments_provider_calls_total', {
        operation: 'authorize',
        outcome: 'failed',
      }),
    ).toBe(1);
  });

  it('stops at the caller deadline when the provider is slow (tok_slow)', async () => {
    make({ timeoutMs: 30_000 });
    const error = await client
      .authorize(input('tok_slow'), call('s', AbortSignal.timeout(150)))
      .catch((caught) => caught);
    expect(error.name).toBe('TimeoutError');
    expect(await metricValue(metrics, 'payments_provider_retries_total')).toBe(0);
  });

  it('times out one attempt, retries it with the same key, and then reports the provider unavailable', async () => {
    make({ timeoutMs: 80 });
    const error = await client.authorize(input('tok_slow'), call('slow-key')).catch((caught) => caught);
    expect(error).toMatchObject({ status: 503, code: 'PAYMENT_PROVIDER_UNAVAILABLE' });
    // Three attempts reached the provider, one authorization exists: the key was the same each time.
    expect(sandbox.ledger()).toEqual([expect.objectContaining({ kind: 'authorize', key: 'slow-key' })]);
  });

  it('treats an outage (connections destroyed) and a closed server as transient', async () => {
    make();
    sandbox.setFaults({ outage: true });
    await expect(client.authorize(input('tok_visa'), call('o'))).rejects.toMatchObject({
      code: 'PAYMENT_PROVIDER_UNAVAILABLE',
    });
    expect(await metricValue(metrics, 'payments_provider_retries_total')).toBe(2);
    sandbox.setFaults({ outage: false });
    await sandbox.close();
    await expect(client.authorize(input('tok_visa'), call('o'))).rejects.toMatchObject({
      code: 'PAYMENT_PROVIDER_UNAVAILABLE',
    });
    expect(await metricValue(metrics, 'payments_provider_retries_total')).toBe(4);
    sandbox = await startSandbox();
  });

  it('opens the breaker on repeated failures, fails fast with Retry-After, then half-opens and recovers', async () => {
    make({
      retry: { attempts: 1 },
      breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 300 },
    });
    sandbox.setFaults({ outage: true });
    for (const key of ['1', '2', '3']) {
      await expect(client.authorize(input('tok_visa'), call(key))).rejects.toMatchObject({ status: 503 });
    }
    expect(await metricValue(metrics, 'payments_circuit_breaker_state')).toBe(2);
    // The provider is healthy again, but the open breaker does not even ask it.
    sandbox.setFaults({ outage: false });
    const rejected = await client.authorize(input('tok_visa'), call('4')).catch((caught) => caught);
    expect(rejected).toMatchObject({ status: 503, code: 'PAYMENT_PROVIDER_UNAVAILABLE' });
    expect(Number(rejected.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(sandbox.ledger()).toEqual([]);
    expect(
      await metricValue(metrics, 'payments_provider_calls_total', {
        operation: 'authorize',
        outcome: 'unavailable',
      }),
    ).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await metricValue(metrics, 'payments_circuit_breaker_state')).toBe(1);
    expect(await client.authorize(input('tok_visa'), call('5'))).toMatchObject({ status: 'authorized' });
    expect(await metricValue(metrics, 'payments_circuit_breaker_state')).toBe(0);
    expect(sandbox.ledger()).toHaveLength(1);
  });
});
