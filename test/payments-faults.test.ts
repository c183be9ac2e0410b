import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import {
  createPayments,
  type PaymentsModule,
  type Sandbox,
  startSandbox,
} from '../src/modules/payments/index.ts';
import { DomainError } from '../src/platform/errors.ts';
import { createEventBus } from '../src/platform/events/index.ts';
import { createHttpApp } from '../src/platform/http/app.ts';
import { noSignIn } from '../src/platform/http/auth.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import type { AppModule } from '../src/platform/module.ts';
import { createLogger } from '../src/platform/observability/logger.ts';
import { createMetrics } from '../src/platform/observability/metrics.ts';
import { createTestDatabase, dbKinds, type TestDatabase } from './support/db.ts';
import { createTestPayments } from './support/payments.ts';
import { createTestSystem, moduleOf } from './support/system.ts';

/** Repeats a step the way a resumed saga does: same order, same derived key, until the provider answers. */
async function untilAnswered<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      const unavailable = error instanceof DomainError && error.code === 'PAYMENT_PROVIDER_UNAVAILABLE';
      if (!unavailable || attempt >= 30) throw error;
    }
  }
}

describe.each(dbKinds)('payments under provider faults on %s', (kind) => {
  let database: TestDatabase;
  let payments: PaymentsModule & { sandbox: Sandbox };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    payments = await createTestPayments(database, {
      retry: { attempts: 2, baseDelayMs: 2, maxDelayMs: 10 },
      breaker: { volumeThreshold: 10_000 },
    });
  });
  afterAll(async () => {
    await payments.close?.();
    await database.dispose();
  });

  it('captures each order once and conserves money while 40% of answers are lost', async () => {
    const sandbox = payments.sandbox!;
    sandbox.setFaults({ errorRate: 0.4, latencyMs: 2 });
    const orders = Array.from({ length: 12 }, (_, index) => ({ orderId: uuidv7(), amount: 1000 + index }));
    const signal = () => AbortSignal.timeout(10_000);
    await Promise.all(
      orders.map(async ({ orderId, amount }) => {
        const input = { orderId, amount, currency: 'EUR', token: 'tok_visa' };
        await untilAnswered(() => payments.service.authorize(input, signal()));
        await Promise.all([
          untilAnswered(() => payments.service.capture(orderId, signal())),
          untilAnswered(() => payments.service.capture(orderId, signal())),
        ]);
        await untilAnswered(() => payments.service.refund(orderId, 250, 'partial', signal()));
        await untilAnswered(() => payments.service.refund(orderId, 250, 'partial', signal()));
      }),
    );
    sandbox.setFaults({ errorRate: 0, latencyMs: 0 });
    const ledger = sandbox.ledger();
    for (const { orderId, amount } of orders) {
      const entries = ledger.filter((entry) => entry.reference === orderId);
      const kinds = entries.map((entry) => entry.kind).sort();
      expect(kinds).toEqual(['authorize', 'capture', 'refund']);
      const payment = (await payments.service.get(orderId))!;
      expect(payment).toMatchObject({
        status: 'partially_refunded',
        capturedAmount: amount,
        refundedAmount: 250,
      });
      const held = entries.reduce(
        (sum, entry) =>
          sum + (entry.kind === 'capture' ? entry.amount : entry.kind === 'refund' ? -entry.amount : 0),
        0,
      );
      expect(held).toBe(payment.capturedAmount - payment.refundedAmount);
    }
  });
});

describe.each(dbKinds)('an open payment breaker over HTTP on %s', (kind) => {
  it('answers 503 PAYMENT_PROVIDER_UNAVAILABLE with Retry-After without waiting for the provider', async () => {
    const database = await createTestDatabase(kind);
    const metrics = createMetrics();
    const sandbox = await startSandbox({ host: '127.0.0.1', port: 0 });
    const payments = createPayments(
      {
        config: {
          paymentsTimeoutMs: 1000,
          payments: { provider: 'sandbox', capture: 'on_order' },
          reconcileIntervalMs: 600_000,
          publicUrl: 'http://127.0.0.1:3000',
        },
        paymentsUrl: sandbox.url,
        db: database.db,
        bus: createEventBus({ db: database.db, logger: createLogger('silent'), metrics }),
        logger: createLogger('silent'),
        metrics,
      },
      { retry: { attempts: 1 }, breaker: { volumeThreshold: 2, resetTimeoutMs: 30_000 } },
    );
    // A stand-in for the checkout route: the request's signal goes down into the payment call.
    const checkout: AppModule = {
      name: 'checkout-harness',
      routes: (scope) => {
        scope.post('/pay', async (request, reply) => {
          const payment = await payments.service.authorize(
            { orderId: uuidv7(), amount: 100, currency: 'EUR', token: 'tok_visa' },
            request.workContext.signal,
          );
          return reply.code(201).send(payment);
        });
      },
    };
    const app = await createHttpApp({
      config: loadConfig({}),
      logger: createLogger('silent'),
      metrics,
      readiness: {},
      verifier: noSignIn,
      serves: true,
      modules: [checkout],
    });
    try {
      sandbox.setFaults({ outage: true });
      for (let call = 0; call < 2; call++)
        expect((await app.inject({ method: 'POST', url: '/v1/pay' })).statusCode).toBe(503);
      sandbox.setFaults({ outage: false });
      const response = await app.inject({ method: 'POST', url: '/v1/pay' });
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({ code: 'PAYMENT_PROVIDER_UNAVAILABLE', status: 503 });
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(1);
      expect(sandbox.ledger()).toEqual([]);
    } finally {
      await app.close();
      await payments.close?.();
      await sandbox.close();
      await database.dispose();
    }
  });
});

describe.each(dbKinds)('payments in the assembled system on %s', (kind) => {
  it('starts its own sandbox without PAYMENTS_URL and closes it with the system', async () => {
    const system = await createTestSystem(kind);
    const payments = moduleOf(system, 'payments');
    const sandboxUrl = system.sandbox!.url;
    const orderId = uuidv7();
    const payment = await payments.service.authorize(
      { orderId, amount: 1500, currency: 'EUR', token: 'tok_visa' },
      AbortSignal.timeout(5000),
    );
    expect(payment.status).toBe('authorized');
    await system.dispose();
    await expect(fetch(`${sandboxUrl}/v1/ledger`)).rejects.toThrow();
  });

  it('talks to the provider at PAYMENTS_URL when it is set', async () => {
    const external = await startSandbox();
    const system = await createTestSystem(kind, { PAYMENTS_URL: external.url });
    try {
      const payments = moduleOf(system, 'payments');
      expect(system.sandbox).toBeUndefined();
      const orderId = uuidv7();
      await payments.service.authorize(
        { orderId, amount: 300, currency: 'EUR', token: 'tok_visa' },
        AbortSignal.timeout(5000),
      );
      expect(external.ledger()).toEqual([expect.objectContaining({ kind: 'authorize', reference: orderId })]);
    } finally {
      await system.dispose();
      await external.close();
    }
  });
});
