import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, checkout, createProduct, eventually, stockOf } from './support/shop.ts';
import { type StripeEmulator, startStripeEmulator } from './support/stripe-emulator.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * The Stripe adapter end to end: the official SDK against a Stripe-protocol server on loopback,
 * webhooks signed as Stripe signs them and delivered to the real route.
 */
describe.each(dbKinds)('paying with Stripe on %s', (kind) => {
  let stripe: StripeEmulator;
  let system: TestSystem;
  let staff: SignedInUser;
  let webhookAnswers: number[];

  beforeAll(async () => {
    stripe = await startStripeEmulator();
    system = await createTestSystem(kind, {
      PAYMENTS_PROVIDER: 'stripe',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: stripe.url,
      PAYMENTS_TIMEOUT_MS: '2000',
    });
    webhookAnswers = [];
    stripe.deliverTo(async (payload, signature) => {
      const answer = await webhook(payload, signature);
      webhookAnswers.push(answer.statusCode);
    });
    staff = await signIn(system, 'staff');
  });
  afterAll(async () => {
    await system.dispose();
    await stripe.close();
  });

  const webhook = (payload: string, signature: string) =>
    system.app.inject({
      method: 'POST',
      url: '/v1/payments/stripe/webhook',
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      payload,
    });
  const orderOf = async (id: string, user: SignedInUser) =>
    (await system.app.inject({ method: 'GET', url: `/v1/orders/${id}`, headers: user.headers })).json();
  const intentOf = (orderId: string) =>
    stripe.intents().find((intent) => intent.metadata.reference === orderId);

  async function placed(token: string, price = 2500) {
    const variant = await createProduct(system, staff, { price, stock: 4 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    return { answer: await checkout(system, buyer, { token }), buyer, variant };
  }

  it('a card that needs nothing more: the order is confirmed and the PaymentIntent captured, for the order total', async () => {
    const { answer } = await placed('pm_card_visa');
    expect(answer.statusCode).toBe(201);
    const order = answer.json();
    expect(order).toMatchObject({ status: 'confirmed', payment: { status: 'captured' } });
    const intent = intentOf(order.id)!;
    expect(intent).toMatchObject({
      status: 'succeeded',
      capture_method: 'manual',
      amount: order.total.amount,
      amount_received: order.total.amount,
      currency: 'eur',
    });
  });

  it('a declined card: 402, nothing captured, the stock back', async () => {
    const { answer, variant } = await placed('pm_card_chargeDeclined');
    expect(answer.statusCode).toBe(402);
    expect(answer.json().code).toBe('PAYMENT_DECLINED');
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 4, reserved: 0 });
  });

  it('3-D Secure: 202 with the action; the bank says yes and the webhook confirms the order', async () => {
    const { answer, buyer } = await placed('pm_card_authenticationRequired');
    expect(answer.statusCode).toBe(202);
    const order = answer.json();
    expect(order).toMatchObject({
      status: 'pending',
      payment: { status: 'requires_action', action: { type: 'redirect' } },
    });
    expect(order.payment.action.url).toContain(`${stripe.url}/3ds/`);
    const intent = intentOf(order.id)!;
    expect(intent.status).toBe('requires_action');
    expect(intent.next_action?.redirect_to_url?.return_url).toContain(`/orders/${order.id}?payment=returned`);
    // Still waiting: reading the order shows the same action.
    expect((await orderOf(order.id, buyer)).payment.action).toEqual(order.payment.action);
    await stripe.authenticate(intent.id, true);
    const settled = await eventually(async () => {
      const now = await orderOf(order.id, buyer);
      return now.status === 'confirmed' ? now : undefined;
    });
    expect(settled.payment).toMatchObject({ status: 'captured' });
    expect(settled.payment.action).toBeUndefined();
    expect(stripe.intent(intent.id)?.status).toBe('succeeded');
  });

  it('3-D Secure refused at the bank: the order is cancelled and the stock released', async () => {
    const { answer, buyer, variant } = await placed('pm_card_authenticationRequired');
    const order = answer.json();
    await stripe.authenticate(intentOf(order.id)!.id, false);
    const settled = await eventually(async () => {
      const now = await orderOf(order.id, buyer);
      return now.status === 'cancelled' ? now : undefined;
    });
    expect(settled.cancelReason).toBe('payment_declined');
    expect(await stockOf(system, staff, variant.sku)).toMatchObject({ onHand: 4, reserved: 0 });
    expect(stripe.intent(intentOf(order.id)!.id)?.status).not.toBe('succeeded');
  });

  it('back from the bank with no webhook: the confirm call settles the order', async () => {
    stripe.deliverTo(async () => {});
    try {
      const { answer, buyer } = await placed('pm_card_authenticationRequired');
      const order = answer.json();
      await stripe.authenticate(intentOf(order.id)!.id, true);
      const confirmed = await system.app.inject({
        method: 'POST',
        url: `/v1/orders/${order.id}/payment/confirm`,
        headers: buyer.headers,
      });
      expect(confirmed.statusCode).toBe(200);
      expect(confirmed.json()).toMatchObject({ status: 'confirmed', payment: { status: 'captured' } });
    } finally {
      stripe.deliverTo(async (payload, signature) => {
        webhookAnswers.push((await webhook(payload, signature)).statusCode);
      });
    }
  });

  it('webhooks: a forged or stale signature is 400 SIGNATURE_INVALID; a valid event applies once', async () => {
    const payload = JSON.stringify({
      id: 'evt_forged',
      object: 'event',
      type: 'payment_intent.succeeded',
      data: { object: {} },
    });
    const forged = await webhook(payload, stripe.sign(payload, undefined, 'whsec_not_the_secret'));
    expect(forged.statusCode).toBe(400);
    expect(forged.json().code).toBe('SIGNATURE_INVALID');
    const stale = await webhook(payload, stripe.sign(payload, Math.floor(Date.now() / 1000) - 600));
    expect(stale.statusCode).toBe(400);
    const unsigned = await system.app.inject({
      method: 'POST',
      url: '/v1/payments/stripe/webhook',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(unsigned.statusCode).toBe(400);
    expect(webhookAnswers.every((status) => status === 200)).toBe(true);
    // Stripe resends an event until it is acknowledged: the second delivery changes nothing.
    const [event] = stripe.events().slice(-1);
    await stripe.resend(event!.id);
    const again = await webhook(JSON.stringify(event), stripe.sign(JSON.stringify(event)));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ received: true, applied: false });
  });

  it('staff refunds go to Stripe under their keys; racing refunds never pass what was captured', async () => {
    const { answer } = await placed('pm_card_visa', 3000);
    const order = answer.json();
    const refunds = await Promise.all(
      Array.from({ length: 12 }, () =>
        system.app.inject({
          method: 'POST',
          url: `/v1/orders/${order.id}/refunds`,
          headers: staff.headers,
          payload: { amount: { amount: 1000, currency: 'EUR' }, reason: 'goodwill' },
        }),
      ),
    );
    const granted = refunds.filter((each) => each.statusCode === 201).length;
    expect(granted).toBe(Math.floor(order.total.amount / 1000));
    expect(refunds.filter((each) => each.statusCode === 409)).toHaveLength(12 - granted);
    const charge = stripe.intent(intentOf(order.id)!.id)!.latest_charge as { amount_refunded: number };
    expect(charge.amount_refunded).toBe(granted * 1000);
  });

  it('an answer lost after Stripe did the work: the retry under the same key captures once', async () => {
    const variant = await createProduct(system, staff, { price: 1800, stock: 2 });
    const buyer = await signIn(system);
    await addToCart(system, buyer, variant.variantId);
    stripe.setFaults({ failNext: 1 });
    const answer = await checkout(system, buyer, { token: 'pm_card_visa' });
    expect(answer.statusCode).toBe(201);
    const order = answer.json();
    expect(stripe.intents().filter((intent) => intent.metadata.reference === order.id)).toHaveLength(1);
    expect(intentOf(order.id)?.amount_received).toBe(order.total.amount);
  });

  it('cancelling a paid order refunds it at Stripe', async () => {
    const { answer, buyer } = await placed('pm_card_visa', 2200);
    const order = answer.json();
    const cancelled = await system.app.inject({
      method: 'POST',
      url: `/v1/orders/${order.id}/cancel`,
      headers: buyer.headers,
    });
    expect(cancelled.statusCode).toBe(200);
    const charge = stripe.intent(intentOf(order.id)!.id)!.latest_charge as { amount_refunded: number };
    expect(charge.amount_refunded).toBe(order.total.amount);
  });

  it('a refund made in Stripe’s dashboard is counted as drift', async () => {
    const { answer } = await placed('pm_card_visa', 2000);
    const order = answer.json();
    const before = await driftCount(system);
    await stripe.refundOutside(intentOf(order.id)!.id, 500);
    expect(await driftCount(system)).toBe(before + 1);
  });
});

async function driftCount(system: TestSystem): Promise<number> {
  const text = await system.metrics.registry.metrics();
  const line = text.split('\n').find((each) => each.startsWith('emporium_payment_drift_total{'));
  return line ? Number(line.split(' ').pop()) : 0;
}
