import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { mailedLinks } from './support/mail.ts';
import { addToCart, apiCaller, BERLIN, createProduct, stockOf } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/** Draft orders through HTTP: staff build an order, priced as a cart is, and complete it once. */
describe.each(dbKinds)('draft orders on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_TIMEOUT_MS: '8000', REQUEST_TIMEOUT_MS: '60000' });
    staff = await signIn(system, 'staff');
    await system.startWorkers();
  });
  afterAll(() => system.dispose());

  const call = apiCaller(() => system);
  const draftFor = (payload: object) => call('POST', '/v1/draft-orders', staff, payload);
  const complete = (id: string, payment: object) =>
    call('POST', `/v1/draft-orders/${id}/complete`, staff, { payment });
  const ledgerOf = (orderId: string) =>
    system.sandbox!.ledger().filter((entry) => entry.reference === orderId);

  it('prices a draft as the customer’s cart of the same lines is priced, and completes it paid offline, once', async () => {
    const customer = await signIn(system);
    const kettle = await createProduct(system, staff, { price: 1250, stock: 5 });
    const mug = await createProduct(system, staff, { price: 800, stock: 5 });
    const lines = [
      { variantId: kettle.variantId, quantity: 2 },
      { variantId: mug.variantId, quantity: 1 },
    ];
    for (const line of lines) await addToCart(system, customer, line.variantId, line.quantity);
    const cart = (await call('PUT', '/v1/cart/address', customer, { shippingAddress: BERLIN })).json();

    const created = await draftFor({ customerId: customer.id, items: lines, shippingAddress: BERLIN });
    expect(created.statusCode).toBe(201);
    const draft = created.json();
    expect(draft).toMatchObject({ status: 'open', customerId: customer.id, shippingAddress: BERLIN });
    // The one totals function: the same lines for the same customer and address cost the same.
    expect(draft.totals).toEqual(cart.totals);
    expect(
      draft.items.map((item: { variantId: string; lineTotal: object }) => [item.variantId, item.lineTotal]),
    ).toEqual(
      cart.items.map((item: { variantId: string; lineTotal: object }) => [item.variantId, item.lineTotal]),
    );
    const listed = (await call('GET', '/v1/draft-orders', staff)).json();
    expect(listed.items.find((item: { id: string }) => item.id === draft.id)).toMatchObject({ itemCount: 3 });
    expect((await call('GET', '/v1/draft-orders', customer)).statusCode).toBe(403);

    const placed = await complete(draft.id, { paidOffline: true });
    expect(placed.statusCode).toBe(201);
    const order = placed.json();
    expect(order).toMatchObject({ status: 'confirmed', userId: customer.id, total: draft.totals.total });
    expect(order.payment.status).toBe('paid_offline');
    expect(ledgerOf(order.id)).toEqual([]);
    expect((await stockOf(system, staff, kettle.sku)).onHand).toBe(3);
    expect((await stockOf(system, staff, mug.sku)).onHand).toBe(4);
    // The customer's own cart is not the draft's: it is still there.
    expect((await call('GET', '/v1/cart', customer)).json().items).toHaveLength(2);
    // Completing again answers the same order; the draft names it.
    expect((await complete(draft.id, { paidOffline: true })).json().id).toBe(order.id);
    expect((await call('GET', `/v1/draft-orders/${draft.id}`, staff)).json()).toMatchObject({
      status: 'completed',
      orderId: order.id,
      totals: draft.totals,
    });
    // The customer sees it among their orders; cancelled, its stock comes back.
    expect((await call('GET', `/v1/orders/${order.id}`, customer)).statusCode).toBe(200);
    const cancelled = await call('POST', `/v1/orders/${order.id}/cancel`, staff);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    expect((await stockOf(system, staff, kettle.sku)).onHand).toBe(5);
  });

  it('completes a draft for an email address with a card token: the provider takes the total', async () => {
    const lamp = await createProduct(system, staff, { price: 4500, stock: 3 });
    const draft = (
      await draftFor({
        email: ' Phone.Buyer@Example.TEST ',
        items: [{ variantId: lamp.variantId, quantity: 1 }],
        shippingAddress: BERLIN,
      })
    ).json();
    expect(draft.email).toBe('phone.buyer@example.test');
    const placed = await complete(draft.id, { token: 'tok_visa' });
    expect(placed.statusCode).toBe(201);
    const order = placed.json();
    expect(order).toMatchObject({ status: 'confirmed', email: 'phone.buyer@example.test' });
    const captured = ledgerOf(order.id).filter((entry) => entry.kind === 'capture');
    expect(captured.map((entry) => entry.amount)).toEqual([order.total.amount]);
  });

  it('makes one order of a draft however many completions race, and refuses what cannot be placed', async () => {
    const customer = await signIn(system);
    const teapot = await createProduct(system, staff, { price: 3000, stock: 4 });
    const draft = (
      await draftFor({
        customerId: customer.id,
        items: [{ variantId: teapot.variantId, quantity: 1 }],
        shippingAddress: BERLIN,
      })
    ).json();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => complete(draft.id, { paidOffline: true })),
    );
    // A completion that found the order still settling answers 202 with it.
    const placed = answers.filter((answer) => answer.statusCode === 201 || answer.statusCode === 202);
    const ids = new Set(placed.map((answer) => answer.json().id));
    expect(ids.size).toBe(1);
    for (const answer of answers) expect([201, 202, 409]).toContain(answer.statusCode);
    const mine = (await call('GET', '/v1/orders', customer)).json();
    expect(mine.items.filter((order: { id: string }) => ids.has(order.id))).toHaveLength(1);
    expect(mine.total).toBe(1);
    expect((await stockOf(system, staff, teapot.sku)).onHand).toBe(3);

    // More than is in stock: the completion is refused and the draft stays open to change.
    const greedy = (
      await draftFor({
        customerId: customer.id,
        items: [{ variantId: teapot.variantId, quantity: 9 }],
        shippingAddress: BERLIN,
      })
    ).json();
    expect((await complete(greedy.id, { paidOffline: true })).json()).toMatchObject({ code: 'OUT_OF_STOCK' });
    expect((await call('GET', `/v1/draft-orders/${greedy.id}`, staff)).json().status).toBe('open');

    const items = [{ variantId: teapot.variantId, quantity: 1 }];
    expect((await draftFor({ items, shippingAddress: BERLIN })).json()).toMatchObject({
      code: 'DRAFT_CUSTOMER',
    });
    expect(
      (await draftFor({ customerId: customer.id, email: 'a@example.test', items, shippingAddress: BERLIN }))
        .statusCode,
    ).toBe(400);
    expect((await draftFor({ customerId: randomUUID(), items, shippingAddress: BERLIN })).statusCode).toBe(
      404,
    );
    expect(
      (
        await draftFor({
          customerId: customer.id,
          items: [{ variantId: randomUUID(), quantity: 1 }],
          shippingAddress: BERLIN,
        })
      ).statusCode,
    ).toBe(409);
    const open = (await draftFor({ customerId: customer.id, items, shippingAddress: BERLIN })).json();
    expect((await complete(open.id, { token: 'tok_visa', paidOffline: true })).json()).toMatchObject({
      code: 'DRAFT_PAYMENT',
    });
    expect((await call('GET', `/v1/draft-orders/${randomUUID()}`, staff)).statusCode).toBe(404);
  });

  it('mails a payment link: whoever holds it sees the order priced and pays it once with a card', async () => {
    const chair = await createProduct(system, staff, { price: 8900, stock: 2 });
    const email = `link.${randomUUID().slice(0, 8)}@example.test`;
    const draft = (
      await draftFor({ email, items: [{ variantId: chair.variantId, quantity: 1 }], shippingAddress: BERLIN })
    ).json();
    const asked = await call('POST', `/v1/draft-orders/${draft.id}/payment-link`, staff, {});
    expect(asked.statusCode).toBe(201);
    expect(asked.json()).toMatchObject({ sent: true, url: expect.stringMatching(/\/pay\?token=/) });
    expect((await call('POST', `/v1/draft-orders/${draft.id}/payment-link`, undefined, {})).statusCode).toBe(
      401,
    );
    const [mailed] = await mailedLinks(
      system.config.dataDir,
      'payment_link',
      email,
      /https?:\/\/[^\s"<>]+\/pay\?token=[\w%-]+/,
    );
    // The mail's link is its own; both open the draft until it is paid.
    const tokens = [mailed!, asked.json().url].map((url) => new URL(url).searchParams.get('token')!);
    expect(tokens[0]).not.toBe(tokens[1]);
    const withLink = (token: string) => ({ 'payment-link-token': token });
    const open = async (token: string) =>
      system.app.inject({ method: 'GET', url: '/v1/payment-link', headers: withLink(token) });
    const seen = (await open(tokens[0]!)).json();
    expect(seen).toMatchObject({ status: 'open', totals: draft.totals, shippingAddress: BERLIN });
    expect(seen).not.toHaveProperty('email');
    const unknown = await open('not-a-real-token');
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'PAYMENT_LINK_INVALID']);

    const pay = (token: string, card: string) =>
      system.app.inject({
        method: 'POST',
        url: '/v1/payment-link/pay',
        headers: withLink(token),
        payload: { payment: { token: card } },
      });
    const declined = await pay(tokens[0]!, 'tok_declined');
    expect(declined.statusCode).toBe(402);
    // A declined card leaves the draft open: the link still pays it.
    expect((await open(tokens[0]!)).json().status).toBe('open');
    const paid = await pay(tokens[1]!, 'tok_visa');
    expect(paid.statusCode).toBe(201);
    const order = paid.json();
    expect(order).toMatchObject({ status: 'confirmed', email, total: draft.totals.total });
    const viewed = await system.app.inject({
      method: 'GET',
      url: `/v1/orders/${order.id}`,
      headers: { 'order-token': order.orderToken },
    });
    expect(viewed.json().id).toBe(order.id);
    expect(ledgerOf(order.id).filter((entry) => entry.kind === 'capture')).toHaveLength(1);
    // Paid once: the other link says so, and charges nothing.
    const again = await pay(tokens[0]!, 'tok_visa');
    expect([again.statusCode, again.json().code]).toEqual([409, 'DRAFT_COMPLETED']);
    expect((await open(tokens[0]!)).json().status).toBe('completed');
    expect((await call('POST', `/v1/draft-orders/${draft.id}/payment-link`, staff, {})).statusCode).toBe(409);
  });
});
