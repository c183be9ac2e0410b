import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, checkout, createProduct } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Invariant 4, money conserved, on every path after the payment: random sequences of partial
 * shipments, returns and their receipt, staff refunds and cancellation, some steps sent at once,
 * against one paid order. Whatever was accepted or refused, the provider's ledger, the payment
 * and the order agree to the cent: captured − refunded at the provider is what the order says it
 * kept, refunds never pass the capture, and nothing is left promised. With capture on shipment the
 * shipments capture exactly their shares: the total once everything shipped, nothing (and the
 * hold voided) when the order was cancelled first.
 */
type Step =
  | { kind: 'ship'; line: number; quantity: number }
  | { kind: 'return'; line: number; quantity: number }
  | { kind: 'receive' }
  | { kind: 'refund'; amount: number }
  | { kind: 'cancel' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('ship' as const),
    line: fc.nat(1),
    quantity: fc.integer({ min: 1, max: 2 }),
  }),
  fc.record({
    kind: fc.constant('return' as const),
    line: fc.nat(1),
    quantity: fc.integer({ min: 1, max: 2 }),
  }),
  fc.record({ kind: fc.constant('receive' as const) }),
  fc.record({ kind: fc.constant('refund' as const), amount: fc.integer({ min: 1, max: 2500 }) }),
  fc.record({ kind: fc.constant('cancel' as const) }),
);

const cases = dbKinds.flatMap((kind) =>
  (['on_order', 'on_shipment'] as const).map((capture) => [kind, capture] as const),
);

describe.each(cases)('money conserved on every path on %s, capturing %s', (kind, capture) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { REQUEST_TIMEOUT_MS: '60000', PAYMENTS_CAPTURE: capture });
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = (method: 'GET' | 'POST', url: string, user: SignedInUser, payload?: object) =>
    system.app.inject({ method, url, headers: user.headers, payload });

  it('captured − refunded at the provider is what the order kept, whatever happened', {
    timeout: 300_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(step, { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 8 }),
        async (rounds) => {
          const mug = await createProduct(system, staff, { price: 1450, stock: 5 });
          const tee = await createProduct(system, staff, { price: 2399, stock: 5 });
          const buyer = await signIn(system);
          await addToCart(system, buyer, mug.variantId, 2);
          await addToCart(system, buyer, tee.variantId, 2);
          const order = (await checkout(system, buyer)).json();
          expect(order.status).toBe('confirmed');

          const run = async (each: Step) => {
            const line = order.items[each.kind === 'ship' || each.kind === 'return' ? each.line : 0];
            if (each.kind === 'ship')
              return call('POST', `/v1/orders/${order.id}/fulfillments`, staff, {
                items: [{ orderItemId: line.id, quantity: each.quantity }],
                carrier: 'DHL',
                trackingNumber: 'T-1',
              });
            if (each.kind === 'return')
              return call('POST', `/v1/orders/${order.id}/returns`, buyer, {
                items: [{ orderItemId: line.id, quantity: each.quantity }],
                reason: 'does not fit',
              });
            if (each.kind === 'receive') {
              const waiting = (await call('GET', `/v1/orders/${order.id}/returns`, staff)).json().items;
              const requested = waiting.find((item: { status: string }) => item.status === 'requested');
              return requested && call('POST', `/v1/returns/${requested.id}/receive`, staff);
            }
            if (each.kind === 'refund')
              return call('POST', `/v1/orders/${order.id}/refunds`, staff, {
                amount: { amount: each.amount, currency: 'EUR' },
                reason: 'goodwill',
              });
            return call('POST', `/v1/orders/${order.id}/cancel`, buyer);
          };
          for (const together of rounds) {
            const answers = await Promise.all(together.map(run));
            for (const answer of answers)
              if (answer) expect(answer.statusCode, answer.body).toBeLessThan(500);
          }

          const final = (await call('GET', `/v1/orders/${order.id}`, staff)).json();
          const ledger = system.sandbox!.ledger().filter((entry) => entry.reference === order.id);
          const sum = (kindOf: string) =>
            ledger.filter((entry) => entry.kind === kindOf).reduce((total, entry) => total + entry.amount, 0);
          const captured = sum('capture');
          const refunded = sum('refund');
          expect(final.payment.captured.amount).toBe(captured);
          if (capture === 'on_order' || final.status === 'shipped') expect(captured).toBe(order.total.amount);
          else if (final.status === 'partially_shipped') expect(captured).toBeLessThan(order.total.amount);
          else {
            expect(captured).toBe(0);
            if (final.status === 'cancelled') expect(sum('void')).toBe(order.total.amount);
          }
          expect(refunded).toBeLessThanOrEqual(captured);
          expect(final.payment.refunded.amount).toBe(refunded);
          const staffRefunds = (await call('GET', `/v1/orders/${order.id}/refunds`, staff)).json().items;
          expect(staffRefunds.filter((item: { status: string }) => item.status === 'requested')).toEqual([]);
          const returns = (await call('GET', `/v1/orders/${order.id}/returns`, staff)).json().items;
          // Refunds are what staff refunds and received returns paid back; a cancel refunds all the rest.
          if (final.status === 'cancelled') {
            expect(refunded).toBe(captured);
            expect(bookedOf(staffRefunds, returns)).toBeLessThanOrEqual(refunded);
          } else {
            expect(bookedOf(staffRefunds, returns)).toBe(refunded);
          }
        },
      ),
      { numRuns: 12 },
    );
  });
});

/** What staff refunds and received returns paid back; the rest of the refunds is the cancel's. */
function bookedOf(
  staffRefunds: Array<{ status: string; amount: { amount: number } }>,
  returns: Array<{ status: string; refund?: { amount: number } }>,
): number {
  return (
    staffRefunds
      .filter((item) => item.status === 'refunded')
      .reduce((total, item) => total + item.amount.amount, 0) +
    returns
      .filter((item) => item.status === 'received')
      .reduce((total, item) => total + (item.refund?.amount ?? 0), 0)
  );
}
