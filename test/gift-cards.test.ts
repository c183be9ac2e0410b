import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { ADDRESS, addToCart, apiCaller, createProduct } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Gift cards through HTTP: issued by staff, spent first at checkout with a token for the rest,
 * credited back by refunds and cancellations; a balance is the sum of its entries and never
 * goes below zero, however many orders race for it.
 */
describe.each(dbKinds)('gift cards on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_TIMEOUT_MS: '8000', REQUEST_TIMEOUT_MS: '60000' });
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = apiCaller(() => system);

  const euros = (amount: number) => ({ amount, currency: 'EUR' });

  async function issue(amount: number) {
    const issued = await call('POST', '/v1/gift-cards', staff, {
      balance: euros(amount),
      note: 'a test card',
    });
    expect(issued.statusCode).toBe(201);
    return issued.json() as { id: string; code: string; last4: string };
  }

  /** The card as staff see it, checked: its balance is the sum of its entries, and never negative. */
  async function card(id: string) {
    const read = (await call('GET', `/v1/gift-cards/${id}`, staff)).json();
    const sum = read.entries.reduce(
      (total: number, entry: { amount: { amount: number } }) => total + entry.amount.amount,
      0,
    );
    expect(sum).toBe(read.balance.amount);
    expect(read.balance.amount).toBeGreaterThanOrEqual(0);
    return read;
  }

  /** A shopper with one product of `price` in the cart (a free shipping threshold is not set: shipping is added). */
  async function shopper(price: number, quantity = 1) {
    const variant = await createProduct(system, staff, { price, stock: 100 });
    const buyer = await signIn(system);
    expect((await addToCart(system, buyer, variant.variantId, quantity)).statusCode).toBe(201);
    const cart = (await call('GET', '/v1/cart', buyer)).json();
    return { buyer, variant, total: cart.totals?.total?.amount as number | undefined };
  }

  const pay = (buyer: SignedInUser, payment: object) =>
    call(
      'POST',
      '/v1/orders',
      buyer,
      { shippingAddress: ADDRESS, payment },
      { 'idempotency-key': crypto.randomUUID() },
    );

  const providerEntries = (orderId: string) =>
    system.sandbox!.ledger().filter((entry) => entry.reference === orderId);

  it('issues a card whose code is shown once and kept only as a hash; the shopper can look up what is left', async () => {
    const issued = await issue(5000);
    expect(issued.code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(issued.last4).toBe(issued.code.slice(-4));
    const listed = (await call('GET', '/v1/gift-cards', staff)).json();
    expect(JSON.stringify(listed)).not.toContain(issued.code);
    expect(listed.items.find((item: { id: string }) => item.id === issued.id)).toMatchObject({
      balance: euros(5000),
      initialBalance: euros(5000),
      note: 'a test card',
    });
    const typed = issued.code.toLowerCase().replaceAll('-', ' ');
    const looked = await call('POST', '/v1/gift-cards/balance', undefined, { code: typed });
    expect(looked.json()).toEqual({ last4: issued.last4, balance: euros(5000) });
    expect(
      (await call('POST', '/v1/gift-cards/balance', undefined, { code: 'ABCD-EFGH-JKMN-PQRS' })).statusCode,
    ).toBe(404);
    expect((await call('GET', '/v1/gift-cards', await signIn(system))).statusCode).toBe(403);
    expect((await call('POST', '/v1/gift-cards', staff, { balance: euros(0) })).statusCode).toBe(400);
    expect(
      (
        await call('POST', '/v1/gift-cards', staff, {
          balance: euros(100),
          expiresAt: '2020-01-01T00:00:00Z',
        })
      ).json(),
    ).toMatchObject({ code: 'INVALID_EXPIRY' });
  });

  it('pays a whole order with a card: no provider payment, and a cancellation credits it all back', async () => {
    const issued = await issue(100_000);
    const { buyer } = await shopper(2500);
    const placed = await pay(buyer, { giftCardCode: issued.code });
    expect(placed.statusCode).toBe(201);
    const order = placed.json();
    expect(order.status).toBe('confirmed');
    expect(order.giftCard).toEqual({ last4: issued.last4, amount: order.total, refunded: euros(0) });
    expect(order.payment).toMatchObject({ status: 'not_required', amount: euros(0) });
    expect(providerEntries(order.id)).toEqual([]);
    expect((await card(issued.id)).balance).toEqual(euros(100_000 - order.total.amount));

    const cancelled = await call('POST', `/v1/orders/${order.id}/cancel`, staff);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().giftCard.refunded).toEqual(order.total);
    const after = await card(issued.id);
    expect(after.balance).toEqual(euros(100_000));
    expect(after.entries.map((entry: { kind: string }) => entry.kind)).toEqual([
      'issued',
      'redeemed',
      'refunded',
    ]);
  });

  it('takes the card first and the token for the rest; refunds go to the card first, then to the provider', async () => {
    const issued = await issue(1000);
    const { buyer } = await shopper(4000);
    // Without a token for the rest: refused in a sentence, and the card keeps its balance.
    const short = await pay(buyer, { giftCardCode: issued.code });
    expect(short.statusCode).toBe(400);
    expect(short.json()).toMatchObject({ code: 'PAYMENT_TOKEN_REQUIRED' });
    expect(short.json().detail).toMatch(
      new RegExp(
        `^The gift card ending ${issued.last4} pays €10\\.00 of the €[\\d.,]+ total; pay the other €[\\d.,]+ with a card$`,
      ),
    );
    expect((await card(issued.id)).balance).toEqual(euros(1000));

    const placed = await pay(buyer, { giftCardCode: issued.code, token: 'tok_visa' });
    expect(placed.statusCode).toBe(201);
    const order = placed.json();
    const rest = order.total.amount - 1000;
    expect(order.giftCard.amount).toEqual(euros(1000));
    expect(order.payment).toMatchObject({ status: 'captured', amount: euros(rest), captured: euros(rest) });
    expect(
      providerEntries(order.id)
        .filter((entry) => entry.kind === 'capture')
        .map((entry) => entry.amount),
    ).toEqual([rest]);
    expect((await card(issued.id)).balance).toEqual(euros(0));

    // 6.00 back: all of it to the card. Then 8.00: the card's last 4.00, the provider 4.00.
    const refund = (amount: number, key: string) =>
      call(
        'POST',
        `/v1/orders/${order.id}/refunds`,
        staff,
        { amount: euros(amount), reason: 'goodwill' },
        { 'idempotency-key': key },
      );
    expect((await refund(600, 'first-refund')).statusCode).toBe(201);
    expect((await card(issued.id)).balance).toEqual(euros(600));
    expect((await refund(800, 'second-refund')).statusCode).toBe(201);
    // Asked again under the same key: nothing moves twice.
    expect((await refund(800, 'second-refund')).statusCode).toBe(201);
    expect((await card(issued.id)).balance).toEqual(euros(1000));
    const refunds = providerEntries(order.id).filter((entry) => entry.kind === 'refund');
    expect(refunds.map((entry) => entry.amount)).toEqual([400]);

    // More than is left is refused, and the card is not credited for it.
    const tooMuch = await refund(order.total.amount, 'too-much');
    expect(tooMuch.statusCode).toBe(409);
    expect((await card(issued.id)).balance).toEqual(euros(1000));
    const read = (await call('GET', `/v1/orders/${order.id}`, staff)).json();
    expect(read.giftCard.refunded).toEqual(euros(1000));
  });

  it('a received return is refunded to the card first, then to the provider', async () => {
    const issued = await issue(1000);
    const { buyer } = await shopper(3000);
    const order = (await pay(buyer, { giftCardCode: issued.code, token: 'tok_visa' })).json();
    const line = order.items[0];
    const shipped = await call('POST', `/v1/orders/${order.id}/fulfillments`, staff, {
      items: [{ orderItemId: line.id, quantity: 1 }],
      carrier: 'DHL',
      trackingNumber: 'GC-1',
    });
    expect(shipped.statusCode).toBe(201);
    const requested = await call('POST', `/v1/orders/${order.id}/returns`, buyer, {
      items: [{ orderItemId: line.id, quantity: 1 }],
      reason: 'not for me',
    });
    const received = await call('POST', `/v1/returns/${requested.json().id}/receive`, staff);
    expect(received.statusCode).toBe(200);
    const refunded = received.json().refund.amount as number;
    expect((await card(issued.id)).balance).toEqual(euros(1000));
    const provider = providerEntries(order.id).filter((entry) => entry.kind === 'refund');
    expect(provider.map((entry) => entry.amount)).toEqual([refunded - 1000]);
  });

  it('refuses an expired card, another currency and an empty card in sentences', async () => {
    const { buyer } = await shopper(1500);
    // A lost card stopped by staff: it expires at once, and can be started again.
    const lost = await issue(5000);
    const stopped = await call('PATCH', `/v1/gift-cards/${lost.id}`, staff, {
      expiresAt: new Date().toISOString(),
    });
    expect(stopped.statusCode).toBe(200);
    const refused = await pay(buyer, { giftCardCode: lost.code, token: 'tok_visa' });
    expect(refused.json()).toMatchObject({ code: 'GIFT_CARD_EXPIRED' });
    expect(refused.json().detail).toMatch(
      new RegExp(`^The gift card ending ${lost.last4} expired on \\d{4}-\\d{2}-\\d{2}$`),
    );
    expect(
      (await call('PATCH', `/v1/gift-cards/${lost.id}`, staff, { expiresAt: null })).json(),
    ).not.toHaveProperty('expiresAt');
    expect(
      (await call('PATCH', `/v1/gift-cards/${crypto.randomUUID()}`, staff, { note: 'x' })).statusCode,
    ).toBe(404);
    expect((await call('PATCH', `/v1/gift-cards/${lost.id}`, staff, {})).statusCode).toBe(400);
    const empty = await issue(100);
    const first = await shopper(1500);
    expect((await pay(first.buyer, { giftCardCode: empty.code, token: 'tok_visa' })).statusCode).toBe(201);
    const emptied = await pay(buyer, { giftCardCode: empty.code, token: 'tok_visa' });
    expect(emptied.json()).toMatchObject({
      code: 'GIFT_CARD_EMPTY',
      detail: `The gift card ending ${empty.last4} has nothing left on it`,
    });
    const dollars = (
      await call('POST', '/v1/gift-cards', staff, { balance: { amount: 500, currency: 'USD' } })
    ).json();
    expect((await pay(buyer, { giftCardCode: dollars.code, token: 'tok_visa' })).json()).toMatchObject({
      code: 'GIFT_CARD_CURRENCY',
      detail: `The gift card ending ${dollars.last4} is in USD; this order is in EUR`,
    });
    expect(
      (await pay(buyer, { giftCardCode: 'ABCD-EFGH-JKMN-PQRS', token: 'tok_visa' })).json(),
    ).toMatchObject({
      code: 'GIFT_CARD_UNKNOWN',
    });
    expect((await pay(buyer, {})).statusCode).toBe(400);
    // Nothing of the refused checkouts stayed: the cart is still there to pay.
    expect((await call('GET', '/v1/cart', buyer)).json().items).toHaveLength(1);
  });

  it('never spends a card below zero: 30 orders race for one card, with and without a token for the rest', async () => {
    const issued = await issue(10_000);
    const shoppers = await Promise.all(Array.from({ length: 30 }, () => shopper(2000)));
    const answers = await Promise.all(
      shoppers.map(({ buyer }, index) =>
        pay(
          buyer,
          index % 2 === 0 ? { giftCardCode: issued.code } : { giftCardCode: issued.code, token: 'tok_visa' },
        ),
      ),
    );
    const placed = answers.filter((answer) => answer.statusCode === 201).map((answer) => answer.json());
    for (const answer of answers) {
      if (answer.statusCode !== 201)
        expect(['PAYMENT_TOKEN_REQUIRED', 'GIFT_CARD_EMPTY']).toContain(answer.json().code);
    }
    const spent = placed.reduce((sum, order) => sum + order.giftCard.amount.amount, 0);
    // Every cent of the card went to exactly the orders that took it, and no further.
    expect(spent).toBe(10_000);
    const after = await card(issued.id);
    expect(after.balance).toEqual(euros(0));
    expect(after.entries.filter((entry: { kind: string }) => entry.kind === 'redeemed')).toHaveLength(
      placed.length,
    );
    // Each order was paid in full: the card's share plus what the provider captured.
    for (const order of placed) {
      const captured = providerEntries(order.id)
        .filter((entry) => entry.kind === 'capture')
        .reduce((sum, entry) => sum + entry.amount, 0);
      expect(order.giftCard.amount.amount + captured).toBe(order.total.amount);
    }
  });
});

/** Store credit: a customer's own balance, kept and spent exactly as a gift card's. */
describe.each(dbKinds)('store credit on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_TIMEOUT_MS: '8000', REQUEST_TIMEOUT_MS: '60000' });
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = apiCaller(() => system);
  const euros = (amount: number) => ({ amount, currency: 'EUR' });
  const credit = (customer: SignedInUser, amount: number, reason = 'goodwill') =>
    call('POST', `/v1/customers/${customer.id}/store-credit`, staff, { amount: euros(amount), reason });

  /** The customer's own view, checked: the balance is the sum of the entries, never negative. */
  async function balanceOf(customer: SignedInUser) {
    const read = (await call('GET', '/v1/users/me/store-credit', customer)).json();
    const sum = read.entries.reduce(
      (total: number, entry: { amount: { amount: number } }) => total + entry.amount.amount,
      0,
    );
    expect(sum).toBe(read.balance.amount);
    expect(read.balance.amount).toBeGreaterThanOrEqual(0);
    return read;
  }

  it('staff credit and debit it with a reason; the customer sees it; debits race and never take it below zero', async () => {
    const customer = await signIn(system);
    expect((await balanceOf(customer)).balance).toEqual(euros(0));
    const credited = await credit(customer, 2000, 'the parcel arrived late');
    expect(credited.statusCode).toBe(201);
    expect(credited.json().entries).toEqual([
      expect.objectContaining({ kind: 'credited', amount: euros(2000), reason: 'the parcel arrived late' }),
    ]);
    expect((await call('GET', `/v1/customers/${customer.id}/store-credit`, customer)).statusCode).toBe(403);
    expect((await call('GET', `/v1/customers/${crypto.randomUUID()}/store-credit`, staff)).statusCode).toBe(
      404,
    );
    expect((await credit(customer, 0)).statusCode).toBe(400);

    const debits = await Promise.all(Array.from({ length: 12 }, () => credit(customer, -500, 'correction')));
    expect(debits.filter((answer) => answer.statusCode === 201)).toHaveLength(4);
    for (const answer of debits.filter((answer) => answer.statusCode !== 201)) {
      expect(answer.json()).toMatchObject({ code: 'STORE_CREDIT_INSUFFICIENT' });
    }
    expect((await balanceOf(customer)).balance).toEqual(euros(0));
  });

  it('pays first at checkout with a token for the rest, and a refund credits it back first', async () => {
    const customer = await signIn(system);
    await credit(customer, 1500);
    const variant = await createProduct(system, staff, { price: 4000, stock: 10 });
    await addToCart(system, customer, variant.variantId);
    const pay = (payment: object) =>
      call(
        'POST',
        '/v1/orders',
        customer,
        { shippingAddress: ADDRESS, payment },
        { 'idempotency-key': crypto.randomUUID() },
      );
    expect(
      (await pay({ useStoreCredit: true, giftCardCode: 'ABCD-EFGH-JKMN-PQRS', token: 'tok_visa' })).json(),
    ).toMatchObject({
      code: 'ONE_BALANCE',
    });
    const short = await pay({ useStoreCredit: true });
    expect(short.json()).toMatchObject({ code: 'PAYMENT_TOKEN_REQUIRED' });
    expect(short.json().detail).toMatch(
      /^Your store credit pays €15\.00 of the €[\d.,]+ total; pay the other €[\d.,]+ with a card$/,
    );
    const placed = await pay({ useStoreCredit: true, token: 'tok_visa' });
    expect(placed.statusCode).toBe(201);
    const order = placed.json();
    expect(order.storeCredit).toEqual({ amount: euros(1500), refunded: euros(0) });
    expect(order.giftCard).toBeUndefined();
    expect(order.payment.amount).toEqual(euros(order.total.amount - 1500));
    expect((await balanceOf(customer)).balance).toEqual(euros(0));

    const refund = await call(
      'POST',
      `/v1/orders/${order.id}/refunds`,
      staff,
      { amount: euros(1000), reason: 'goodwill' },
      { 'idempotency-key': crypto.randomUUID() },
    );
    expect(refund.statusCode).toBe(201);
    const after = await balanceOf(customer);
    expect(after.balance).toEqual(euros(1000));
    expect(after.entries.map((entry: { kind: string }) => entry.kind)).toEqual([
      'credited',
      'redeemed',
      'refunded',
    ]);

    // A guest has no store credit to pay with.
    const guestCart = await system.app.inject({ method: 'POST', url: '/v1/carts' });
    const guest = { headers: { 'cart-token': guestCart.json().cartToken } };
    await addToCart(system, guest, variant.variantId);
    const asGuest = await system.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { ...guest.headers, 'idempotency-key': crypto.randomUUID() },
      payload: {
        shippingAddress: ADDRESS,
        email: 'guest@example.test',
        payment: { useStoreCredit: true, token: 'tok_visa' },
      },
    });
    expect(asGuest.json()).toMatchObject({ code: 'STORE_CREDIT_EMPTY' });
  });
});
