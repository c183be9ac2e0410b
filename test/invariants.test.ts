import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { ADDRESS, addToCart, checkout, createProduct, stockOf, type TestVariant } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

type Action =
  | { kind: 'add'; user: number; variant: number; quantity: number }
  | { kind: 'update'; user: number; quantity: number }
  | { kind: 'remove'; user: number }
  | { kind: 'checkout'; user: number; token: 'tok_visa' | 'tok_declined' | 'none'; giftCard: boolean }
  | { kind: 'cancel'; user: number }
  | { kind: 'edit'; user: number; variant: number; quantity: number; token: 'tok_visa' | 'tok_declined' }
  | { kind: 'exchange'; user: number; variant: number; token: 'tok_visa' | 'tok_declined' }
  | { kind: 'restock'; variant: number; delta: number };

const USERS = 2;
const VARIANTS = 2;
const INITIAL_STOCK = 6;
/** Each run's gift card: enough for a few small orders, not for every one. */
const GIFT_CARD_BALANCE = 900;

// Weighted so that sequences often reach the interesting paths: a paid order, then its cancellation.
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      user: fc.nat(USERS - 1),
      variant: fc.nat(VARIANTS - 1),
      quantity: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      user: fc.nat(USERS - 1),
      quantity: fc.integer({ min: 1, max: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), user: fc.nat(USERS - 1) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('checkout' as const),
      user: fc.nat(USERS - 1),
      // 'none': a gift card alone, which pays only when it covers the total.
      token: fc.constantFrom(
        'tok_visa' as const,
        'tok_visa' as const,
        'tok_declined' as const,
        'none' as const,
      ),
      giftCard: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('cancel' as const), user: fc.nat(USERS - 1) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      user: fc.nat(USERS - 1),
      variant: fc.nat(VARIANTS - 1),
      quantity: fc.integer({ min: 1, max: 4 }),
      token: fc.constantFrom('tok_visa' as const, 'tok_visa' as const, 'tok_declined' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('exchange' as const),
      user: fc.nat(USERS - 1),
      variant: fc.nat(VARIANTS - 1),
      token: fc.constantFrom('tok_visa' as const, 'tok_visa' as const, 'tok_declined' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('restock' as const),
      variant: fc.nat(VARIANTS - 1),
      delta: fc.integer({ min: 1, max: 3 }),
    }),
  },
);

/**
 * Model-based property: random sequences of cart changes, checkouts (approved and declined),
 * staff edits (a line's quantity set, or a variant added; the card approving or declining the
 * difference), exchanges (an order shipped, a unit returned and exchanged for a variant, the card
 * approving or declining the rest), cancellations and restocks by several users keep invariants
 * 1-4 — stock never negative and equal to what the model says was sold and came back, nothing
 * left reserved or pending, each payment captured at most once, and what each order kept
 * (captured − refunded at the provider over its own payment and its edits', plus what a gift card
 * or store credit paid and kept) equal to its total less what its returns gave back outside store
 * credit; the gift card and the store credit equal the sums of their entries, never below zero.
 */
describe.each(dbKinds)('invariants under random sequences on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  let users: SignedInUser[];
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_TIMEOUT_MS: '8000', REQUEST_TIMEOUT_MS: '60000' });
    staff = await signIn(system, 'staff');
    users = await Promise.all(Array.from({ length: USERS }, () => signIn(system)));
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user.headers, payload });

  it('keeps stock, orders and money consistent', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 8, maxLength: 30 }), async (actions) => {
        const variants: TestVariant[] = [];
        for (let index = 0; index < VARIANTS; index++) {
          variants.push(
            await createProduct(system, staff, { stock: INITIAL_STOCK, price: 300 + index * 125 }),
          );
        }
        const restocked = variants.map(() => 0);
        const giftCard = (
          await call('POST', '/v1/gift-cards', staff, {
            balance: { amount: GIFT_CARD_BALANCE, currency: 'EUR' },
          })
        ).json() as { id: string; code: string };
        const orders: Array<{ id: string; user: number }> = [];
        for (const user of users) await call('DELETE', '/v1/cart', user);
        const creditBefore = await Promise.all(
          users.map(
            async (user) =>
              (await call('GET', '/v1/users/me/store-credit', user)).json().balance.amount as number,
          ),
        );

        /** The user's newest order still confirmed (neither shipped nor cancelled), if any. */
        const newestConfirmed = async (user: number) => {
          for (const mine of orders.filter((placed) => placed.user === user).toReversed()) {
            const found = (await call('GET', `/v1/orders/${mine.id}`, staff)).json() as {
              id: string;
              status: string;
              items: Array<{ id: string; variantId: string; quantity: number }>;
            };
            if (found.status === 'confirmed') return found;
          }
          return undefined;
        };
        for (const step of actions) {
          if (step.kind === 'add') {
            const answer = await addToCart(
              system,
              users[step.user],
              variants[step.variant].variantId,
              step.quantity,
            );
            expect([201, 400, 409]).toContain(answer.statusCode);
          } else if (step.kind === 'update' || step.kind === 'remove') {
            const cart = (await call('GET', '/v1/cart', users[step.user])).json();
            if (cart.items.length === 0) continue;
            const line = cart.items[0];
            const answer =
              step.kind === 'update'
                ? await call('PATCH', `/v1/cart/items/${line.id}`, users[step.user], {
                    quantity: step.quantity,
                  })
                : await call('DELETE', `/v1/cart/items/${line.id}`, users[step.user]);
            expect([200, 204, 409]).toContain(answer.statusCode);
          } else if (step.kind === 'checkout') {
            const token = step.token === 'none' ? undefined : step.token;
            const answer =
              step.giftCard || !token
                ? await system.app.inject({
                    method: 'POST',
                    url: '/v1/orders',
                    headers: { ...users[step.user].headers, 'idempotency-key': crypto.randomUUID() },
                    payload: {
                      shippingAddress: ADDRESS,
                      payment: {
                        ...(token ? { token } : {}),
                        ...(step.giftCard ? { giftCardCode: giftCard.code } : {}),
                      },
                    },
                  })
                : await checkout(system, users[step.user], { token });
            expect([201, 400, 402, 409]).toContain(answer.statusCode);
            const id = answer.statusCode === 201 ? answer.json().id : answer.json().orderId;
            if (id) orders.push({ id, user: step.user });
          } else if (step.kind === 'cancel') {
            const mine = orders.filter((order) => order.user === step.user);
            if (mine.length === 0) continue;
            const answer = await call(
              'POST',
              `/v1/orders/${mine[mine.length - 1].id}/cancel`,
              users[step.user],
            );
            expect([200, 409]).toContain(answer.statusCode);
          } else if (step.kind === 'exchange') {
            // The user's newest confirmed order ships, one unit of its first line comes back, and
            // it is exchanged for one of the variant.
            const order = await newestConfirmed(step.user);
            if (!order) continue;
            const shipped = await call('POST', `/v1/orders/${order.id}/fulfillments`, staff, {
              items: order.items.map((line) => ({ orderItemId: line.id, quantity: line.quantity })),
              carrier: 'DHL',
              trackingNumber: crypto.randomUUID(),
            });
            expect(shipped.statusCode).toBe(201);
            const returned = await call('POST', `/v1/orders/${order.id}/returns`, users[step.user], {
              items: [{ orderItemId: order.items[0].id, quantity: 1 }],
              reason: 'exchange',
            });
            expect(returned.statusCode).toBe(201);
            const answer = await system.app.inject({
              method: 'POST',
              url: `/v1/returns/${returned.json().id}/exchange`,
              headers: { ...staff.headers, 'idempotency-key': crypto.randomUUID() },
              payload: {
                replacements: [{ variantId: variants[step.variant].variantId, quantity: 1 }],
                payment: { token: step.token },
              },
            });
            expect([201, 402, 409]).toContain(answer.statusCode);
            const replacement = answer.statusCode === 201 ? answer.json().order.id : answer.json().orderId;
            if (replacement) orders.push({ id: replacement, user: step.user });
          } else if (step.kind === 'edit') {
            // The user's newest order that can still be edited.
            const order = await newestConfirmed(step.user);
            if (!order) continue;
            const { id } = order;
            const variantId = variants[step.variant].variantId;
            const line = order.items.find((item) => item.variantId === variantId);
            const answer = await system.app.inject({
              method: 'POST',
              url: `/v1/orders/${id}/edits`,
              headers: { ...staff.headers, 'idempotency-key': crypto.randomUUID() },
              payload: {
                ...(line
                  ? { change: [{ itemId: line.id, quantity: step.quantity }] }
                  : { add: [{ variantId, quantity: step.quantity }] }),
                payment: { token: step.token },
              },
            });
            expect([200, 400, 402, 409]).toContain(answer.statusCode);
          } else {
            const answer = await call(
              'POST',
              `/v1/inventory/${variants[step.variant].sku}/adjustments`,
              staff,
              {
                delta: step.delta,
                reason: 'restock',
              },
            );
            expect(answer.statusCode).toBe(201);
            restocked[step.variant] += step.delta;
          }
        }

        const ledger = system.sandbox!.ledger();
        const sold = variants.map(() => 0);
        let keptOnCard = 0;
        const creditIn = users.map(() => 0);
        for (const { id, user } of orders) {
          const order = (await call('GET', `/v1/orders/${id}`, users[user])).json();
          expect(['confirmed', 'cancelled', 'shipped']).toContain(order.status);
          const returns = (await call('GET', `/v1/orders/${id}/returns`, users[user])).json().items as Array<{
            status: string;
            items: Array<{ orderItemId: string; quantity: number }>;
            refund?: { amount: number };
            storeCredit?: { amount: number };
          }>;
          let givenBack = 0;
          for (const each of returns) {
            expect(each.status).toBe('received');
            givenBack += (each.refund?.amount ?? 0) - (each.storeCredit?.amount ?? 0);
            creditIn[user] += each.storeCredit?.amount ?? 0;
            for (const item of each.items) {
              const variantId = order.items.find(
                (line: { id: string }) => line.id === item.orderItemId,
              ).variantId;
              sold[variants.findIndex((variant) => variant.variantId === variantId)] -= item.quantity;
            }
          }
          const spentCredit = order.storeCredit
            ? order.storeCredit.amount.amount - order.storeCredit.refunded.amount
            : 0;
          creditIn[user] -= spentCredit;
          const edits = (await call('GET', `/v1/orders/${id}/edits`, staff)).json().items as Array<{
            id: string;
          }>;
          const references = [id, ...edits.map((edit) => edit.id)];
          const entries = ledger.filter((entry) => references.includes(entry.reference));
          const captured = entries.filter((entry) => entry.kind === 'capture');
          for (const reference of references)
            expect(captured.filter((entry) => entry.reference === reference).length).toBeLessThanOrEqual(1);
          const refunded = entries
            .filter((entry) => entry.kind === 'refund')
            .reduce((sum, entry) => sum + entry.amount, 0);
          const card = order.giftCard ? order.giftCard.amount.amount - order.giftCard.refunded.amount : 0;
          keptOnCard += card;
          const net = captured.reduce((sum, entry) => sum + entry.amount, 0) - refunded + card + spentCredit;
          expect(net).toBe(order.status === 'cancelled' ? 0 : order.total.amount - givenBack);
          if (order.status !== 'cancelled') {
            for (const item of order.items)
              sold[variants.findIndex((variant) => variant.variantId === item.variantId)] += item.quantity;
          }
        }
        const card = (await call('GET', `/v1/gift-cards/${giftCard.id}`, staff)).json();
        expect(card.balance.amount).toBe(GIFT_CARD_BALANCE - keptOnCard);
        expect(
          card.entries.reduce(
            (sum: number, entry: { amount: { amount: number } }) => sum + entry.amount.amount,
            0,
          ),
        ).toBe(card.balance.amount);
        // Store credit: what exchanges put there less what replacement orders spent, never below zero.
        for (const [index, user] of users.entries()) {
          const credit = (await call('GET', '/v1/users/me/store-credit', user)).json();
          expect(credit.balance.amount).toBe(creditBefore[index]! + creditIn[index]!);
          expect(credit.balance.amount).toBeGreaterThanOrEqual(0);
        }
        for (const [index, variant] of variants.entries()) {
          const stock = await stockOf(system, staff, variant.sku);
          expect(stock.reserved).toBe(0);
          expect(stock.onHand).toBe(INITIAL_STOCK + restocked[index] - sold[index]);
          expect(stock.onHand).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 20 },
    );
  });
});
