import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentProvider } from '../src/modules/payments/index.ts';
import { createStripeProvider } from '../src/modules/payments/stripe.ts';
import { createLogger } from '../src/platform/observability/logger.ts';
import { createMetrics } from '../src/platform/observability/metrics.ts';

/**
 * The Stripe adapter against Stripe's own test mode: run with STRIPE_SECRET_KEY=sk_test_… (see
 * docs/operations.md, "Going live with Stripe"); skipped otherwise. Nothing here moves real money.
 */
const key = process.env.STRIPE_SECRET_KEY;

describe.runIf(key?.startsWith('sk_test_'))('the Stripe adapter against Stripe test mode', () => {
  let stripe: PaymentProvider;
  beforeAll(() => {
    stripe = createStripeProvider({
      secretKey: key!,
      webhookSecret: 'whsec_unused_here',
      timeoutMs: 10_000,
      metrics: createMetrics(),
      logger: createLogger('silent'),
    });
  });
  afterAll(() => stripe?.close());
  const order = () => ({ amount: 2500, currency: 'EUR', reference: randomUUID() });

  it('authorizes, captures, refunds in part and looks the payment up', async () => {
    const input = order();
    const operation = `live-${input.reference}`;
    const authorized = await stripe.authorize(
      { ...input, token: 'pm_card_visa' },
      { key: `${operation}:authorize` },
    );
    expect(authorized.status).toBe('authorized');
    // The same key again is answered from Stripe's record: the same PaymentIntent.
    const again = await stripe.authorize(
      { ...input, token: 'pm_card_visa' },
      { key: `${operation}:authorize` },
    );
    expect(again.id).toBe(authorized.id);
    expect((await stripe.capture(authorized.id, undefined, { key: `${operation}:capture` })).status).toBe(
      'captured',
    );
    await stripe.refund(authorized.id, 1000, { key: `${operation}:refund` });
    expect(await stripe.lookup(authorized.id, {})).toMatchObject({
      capturedAmount: 2500,
      refundedAmount: 1000,
    });
  }, 60_000);

  it('a declined card and a card that needs 3-D Secure', async () => {
    const declined = await stripe.authorize(
      { ...order(), token: 'pm_card_chargeDeclined' },
      { key: randomUUID() },
    );
    expect(declined.status).toBe('declined');
    const secure = await stripe.authorize(
      { ...order(), token: 'pm_card_authenticationRequired', returnUrl: 'https://example.com/back' },
      { key: randomUUID() },
    );
    expect(secure).toMatchObject({ status: 'requires_action', action: { type: 'redirect' } });
    await stripe.void(secure.id, { key: randomUUID() });
  }, 60_000);
});
