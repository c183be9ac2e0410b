import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, BERLIN, checkout, createProduct, eventually, totalsOnOrder } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * The promotions engine end to end: automatic promotions and codes applied by priority, a
 * non-stackable one stopping the rest, buy X get Y on a category, every discount explained line by
 * line on the cart and the order, and usage limits and campaign budgets that hold under a race.
 * Each promotion targets this test's own products, so the automatic ones touch no other cart.
 */
describe.each(dbKinds)('promotions engine on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
    for (const category of [
      { slug: 'lighting', name: 'Lighting' },
      { slug: 'lamps', name: 'Lamps', parentSlug: 'lighting' },
    ]) {
      expect((await call('POST', '/v1/categories', staff, category)).statusCode).toBe(201);
    }
    expect((await call('PUT', '/v1/tax-rates/DE', staff, { rate: 1900, name: 'USt' })).statusCode).toBe(200);
    const shipping = await call('POST', '/v1/shipping-methods', staff, {
      name: 'DHL Paket',
      country: 'DE',
      price: { amount: 490, currency: 'EUR' },
      minDays: 1,
      maxDays: 3,
    });
    expect(shipping.statusCode).toBe(201);
    const eu = { code: 'eu', name: 'EU', currency: 'EUR', countries: ['DE'], taxInclusive: true };
    expect((await call('POST', '/v1/regions', staff, eu)).statusCode).toBe(201);
  });
  afterAll(() => system.dispose());

  const call = (method: string, url: string, user?: SignedInUser, payload?: object) =>
    system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });
  const promotion = async (body: object) => {
    const made = await call('POST', '/v1/promotions', staff, body);
    expect(made.statusCode, made.body).toBe(201);
    return made.json();
  };
  const promotionNow = async (id: string) => (await call('GET', `/v1/promotions/${id}`, staff)).json();

  it('refuses promotions that cannot work, in sentences', async () => {
    const cases: Array<[object, string]> = [
      [{ kind: 'percentage', value: 10 }, 'Give the promotion a code, or make it automatic'],
      [{ automatic: true, kind: 'buy_x_get_y' }, 'Buy X get Y needs buyQuantity and getQuantity'],
      [
        { automatic: true, kind: 'percentage', value: 10, budget: 1000 },
        'A budget is an amount: give the currency it is counted in',
      ],
    ];
    for (const [body, detail] of cases) {
      const answer = await call('POST', '/v1/promotions', staff, body);
      expect(answer.json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', detail });
    }
    const badTarget = await call('POST', '/v1/promotions', staff, {
      automatic: true,
      kind: 'percentage',
      value: 10,
      target: { productIds: ['not-an-id'] },
    });
    expect(badTarget.statusCode).toBe(400);
  });

  it('an automatic 3 for 2 on lamps, in a tax-inclusive region, gives the cheapest lamp away and explains it to the order', async () => {
    const floor = await createProduct(system, staff, { price: 5000, categorySlugs: ['lamps'] });
    const desk = await createProduct(system, staff, { price: 2000, categorySlugs: ['lamps'] });
    const mug = await createProduct(system, staff, { price: 1000 });
    const threeForTwo = await promotion({
      name: '3 for 2 on lamps',
      automatic: true,
      kind: 'buy_x_get_y',
      buyQuantity: 2,
      getQuantity: 1,
      percentOff: 100,
      // A category above the lamps' own: a target takes in what is below it.
      target: { categorySlugs: ['lighting'], productIds: [floor.productId] },
    });
    expect(threeForTwo).toMatchObject({
      automatic: true,
      percentOff: 100,
      priority: 0,
      stackable: true,
      timesUsed: 0,
    });
    expect(threeForTwo.code).toBeUndefined();

    const shopper = await signIn(system);
    await addToCart(system, shopper, floor.variantId, 2);
    const two = (await call('GET', '/v1/cart', shopper)).json();
    expect(two.totals.discounts).toEqual([]); // two lamps: nothing free yet
    await addToCart(system, shopper, desk.variantId, 1);
    await addToCart(system, shopper, mug.variantId, 1);
    const cart = (
      await call('PUT', '/v1/cart/address', shopper, { shippingAddress: { country: 'DE' } })
    ).json();
    const deskLine = cart.items.find((item: { variantId: string }) => item.variantId === desk.variantId);
    expect(cart.totals.discounts).toEqual([
      {
        promotionId: threeForTwo.id,
        name: '3 for 2 on lamps',
        kind: 'buy_x_get_y',
        amount: { amount: 2000, currency: 'EUR' },
        lines: [{ itemId: deskLine.id, amount: { amount: 2000, currency: 'EUR' } }],
      },
    ]);
    expect(deskLine.discount).toEqual({ amount: 2000, currency: 'EUR' });
    // Shelf prices 10 000 + 2000 + 1000, less the free lamp, plus shipping; the VAT is inside.
    expect(cart.totals).toMatchObject({
      subtotal: { amount: 13_000 },
      discountTotal: { amount: 2000 },
      total: { amount: 11_000 + 490 },
      taxInclusive: true,
    });

    const placed = await checkout(system, shopper, { address: BERLIN, expectedTotal: cart.total });
    expect(placed.statusCode, placed.body).toBe(201);
    const order = placed.json();
    expect(order.totals).toEqual(totalsOnOrder(cart, order));
    const orderDesk = order.items.find((item: { variantId: string }) => item.variantId === desk.variantId);
    expect(order.totals.discounts[0].lines).toEqual([
      { itemId: orderDesk.id, amount: { amount: 2000, currency: 'EUR' } },
    ]);
    expect(order.payment.amount).toEqual({ amount: 11_490, currency: 'EUR' });
    expect(await promotionNow(threeForTwo.id)).toMatchObject({ timesUsed: 1, discountGiven: 2000 });

    // A cancelled order gives its use and its discount back to the campaign.
    expect((await call('POST', `/v1/orders/${order.id}/cancel`, shopper)).statusCode).toBe(200);
    expect(await promotionNow(threeForTwo.id)).toMatchObject({ timesUsed: 0, discountGiven: 0 });
  });

  it('applies by priority, each to what the earlier left; a non-stackable one stops the code after it, and says so', async () => {
    const chair = await createProduct(system, staff, { price: 10_000 });
    const tenOff = await promotion({
      name: 'Chair week',
      automatic: true,
      kind: 'percentage',
      value: 10,
      priority: 10,
      target: { productIds: [chair.productId] },
    });
    await promotion({ code: `FIVE-${randomUUID().slice(0, 8)}`, kind: 'fixed', value: 500, currency: 'EUR' });
    const code = (await call('GET', '/v1/promotions', staff))
      .json()
      .items.find((item: { code?: string }) => item.code?.startsWith('FIVE-')).code;
    const shopper = await signIn(system);
    await addToCart(system, shopper, chair.variantId, 1);
    expect((await call('POST', '/v1/cart/promotions', shopper, { code })).statusCode).toBe(200);
    const stacked = (await call('GET', '/v1/cart', shopper)).json();
    // 10 % of 10 000, then 5 € off the 9000 left.
    expect(stacked.totals.discounts.map((d: { amount: { amount: number } }) => d.amount.amount)).toEqual([
      1000, 500,
    ]);
    expect(stacked.totals.discountTotal.amount).toBe(1500);
    expect(stacked.promotion).toMatchObject({ code });

    expect((await call('PATCH', `/v1/promotions/${tenOff.id}`, staff, { stackable: false })).statusCode).toBe(
      200,
    );
    const stopped = (await call('GET', '/v1/cart', shopper)).json();
    expect(stopped.totals.discounts.map((d: { promotionId: string }) => d.promotionId)).toEqual([tenOff.id]);
    expect(stopped.promotionProblem).toEqual({
      code,
      detail: 'This code cannot be combined with Chair week',
    });
    const refused = await checkout(system, shopper);
    expect(refused.json()).toMatchObject({ status: 400, code: 'PROMOTION_INVALID' });

    // Taken off its target, the automatic one leaves the chair alone and the code applies again.
    await call('DELETE', `/v1/promotions/${tenOff.id}`, staff);
    const alone = (await call('GET', '/v1/cart', shopper)).json();
    expect(alone.totals.discounts.map((d: { code?: string }) => d.code)).toEqual([code]);
    expect(alone.promotionProblem).toBeUndefined();
  });

  it('a promotion for a customer group discounts its members only; its code tells others why not', async () => {
    const scarf = await createProduct(system, staff, { price: 4000 });
    const vip = (
      await call('POST', '/v1/customer-groups', staff, { name: `VIP ${randomUUID().slice(0, 6)}` })
    ).json();
    const member = await signIn(system);
    const other = await signIn(system);
    expect((await call('PUT', `/v1/customer-groups/${vip.id}/members/${member.id}`, staff)).statusCode).toBe(
      204,
    );
    await promotion({
      name: 'VIP week',
      automatic: true,
      kind: 'percentage',
      value: 25,
      target: { productIds: [scarf.productId], customerGroups: [vip.id] },
    });
    const code = `VIP-${randomUUID().slice(0, 6)}`.toUpperCase();
    await promotion({
      code,
      kind: 'fixed',
      value: 100,
      currency: 'EUR',
      target: { customerGroups: [vip.id] },
    });
    for (const shopper of [member, other]) await addToCart(system, shopper, scarf.variantId, 1);
    const theirs = (await call('GET', '/v1/cart', member)).json();
    expect(theirs.totals.discounts.map((d: { name?: string }) => d.name)).toEqual(['VIP week']);
    expect(theirs.totals.discountTotal.amount).toBe(1000);
    expect((await call('GET', '/v1/cart', other)).json().totals.discounts).toEqual([]);
    const refused = await call('POST', '/v1/cart/promotions', other, { code });
    expect(refused.json()).toMatchObject({
      status: 400,
      code: 'PROMOTION_INVALID',
      detail: 'This code is not for your account',
    });
    expect((await call('POST', '/v1/cart/promotions', member, { code })).statusCode).toBe(200);
    expect((await call('GET', '/v1/cart', member)).json().totals.discountTotal.amount).toBe(1000 + 100);
    const guest = (await call('POST', '/v1/carts')).json();
    const asGuest = await system.app.inject({
      method: 'POST',
      url: '/v1/cart/promotions',
      headers: { 'cart-token': guest.cartToken },
      payload: { code },
    });
    expect(asGuest.json().detail).toBe('This code is for some of our customers: sign in to use it');
  });

  it('a code for other products says it applies to none of the items', async () => {
    const kettle = await createProduct(system, staff, { price: 3000 });
    const other = await createProduct(system, staff, { price: 3000 });
    const code = `KETTLE-${randomUUID().slice(0, 8)}`.toUpperCase();
    await promotion({ code, kind: 'percentage', value: 20, target: { productIds: [kettle.productId] } });
    const shopper = await signIn(system);
    await addToCart(system, shopper, other.variantId, 1);
    expect((await call('POST', '/v1/cart/promotions', shopper, { code })).statusCode).toBe(200);
    const cart = (await call('GET', '/v1/cart', shopper)).json();
    expect(cart.promotionProblem).toEqual({
      code,
      detail: 'This code applies to none of the items in your cart',
    });
    await addToCart(system, shopper, kettle.variantId, 1);
    const fits = (await call('GET', '/v1/cart', shopper)).json();
    expect(fits.promotionProblem).toBeUndefined();
    expect(fits.totals.discounts[0].lines).toHaveLength(1);
    expect(fits.totals.discountTotal.amount).toBe(600);
  });

  it('a code for a collection discounts what the collection holds, by hand and by its rules', async () => {
    const picked = await createProduct(system, staff, { price: 4000 });
    const lamp = await createProduct(system, staff, { price: 3000, categorySlugs: ['lamps'] });
    const dearLamp = await createProduct(system, staff, { price: 90000, categorySlugs: ['lamps'] });
    const other = await createProduct(system, staff, { price: 1000 });
    const word = randomUUID().slice(0, 6);
    for (const collection of [
      { slug: `gifts-${word}`, name: 'Gifts', productIds: [picked.productId] },
      { slug: `light-${word}`, name: 'Light under 100', rules: { category: 'lighting', maxPrice: 10000 } },
    ]) {
      expect((await call('POST', '/v1/collections', staff, collection)).statusCode).toBe(201);
    }
    const code = `GIFT-${word}`.toUpperCase();
    await promotion({
      code,
      kind: 'percentage',
      value: 10,
      target: { collectionSlugs: [`gifts-${word}`, `light-${word}`] },
    });
    const shopper = await signIn(system);
    for (const item of [picked, lamp, dearLamp, other]) await addToCart(system, shopper, item.variantId, 1);
    expect((await call('POST', '/v1/cart/promotions', shopper, { code })).statusCode).toBe(200);
    const cart = (await call('GET', '/v1/cart', shopper)).json();
    const discounted = cart.totals.discounts[0].lines.map(
      (line: { itemId: string }) =>
        cart.items.find((item: { id: string }) => item.id === line.itemId).variantId,
    );
    // The hand-picked product and the lamp under €100 (a lamp is in lighting); not the dear lamp, nor the rest.
    expect(discounted.sort()).toEqual([picked.variantId, lamp.variantId].sort());
    expect(cart.totals.discountTotal.amount).toBe(700);
  });

  it('40 buyers race for an automatic discount with a budget for 4 and a use limit: never a cent past either', async () => {
    const lamp = await createProduct(system, staff, { price: 2000, stock: 500 });
    const budgeted = await promotion({
      name: 'Launch week',
      automatic: true,
      kind: 'fixed',
      value: 500,
      currency: 'EUR',
      budget: 2000,
      target: { productIds: [lamp.productId] },
    });
    const limited = await promotion({
      name: 'First three',
      automatic: true,
      kind: 'fixed',
      value: 100,
      currency: 'EUR',
      usageLimit: 3,
      target: { productIds: [lamp.productId] },
    });
    const buyers = await Promise.all(Array.from({ length: 40 }, () => signIn(system)));
    const carts: Array<{
      total: { amount: number; currency: string };
      totals: { discountTotal: { amount: number } };
    }> = [];
    for (const buyer of buyers) {
      await addToCart(system, buyer, lamp.variantId, 1);
      carts.push((await call('GET', '/v1/cart', buyer)).json());
    }
    // Before anyone checks out, every cart shows both discounts: the budget is counted at checkout.
    for (const cart of carts) expect(cart.totals.discountTotal.amount).toBe(600);
    const answers = await Promise.all(
      buyers.map((buyer, index) => checkout(system, buyer, { expectedTotal: carts[index].total })),
    );
    const placed = answers.filter((answer) => answer.statusCode === 201 || answer.statusCode === 202);
    // A loser is refused with nothing charged: the campaign ran out under its checkout, or before
    // it and its total is no longer the one it was shown.
    const exhausted = answers.filter(
      (answer) =>
        answer.statusCode === 409 && ['PROMOTION_EXHAUSTED', 'TOTAL_CHANGED'].includes(answer.json().code),
    );
    expect(
      answers.filter((answer) => !placed.includes(answer) && !exhausted.includes(answer)).map((a) => a.body),
    ).toEqual([]);
    expect(placed.length).toBeLessThanOrEqual(3);
    const after = [await promotionNow(budgeted.id), await promotionNow(limited.id)];
    expect(after[0].discountGiven).toBeLessThanOrEqual(2000);
    expect(after[0].discountGiven).toBe(500 * placed.length);
    expect(after[1].timesUsed).toBe(placed.length);

    // The losers' carts now show what checkout can honour, and they buy at that price.
    const loser = buyers[answers.findIndex((answer) => answer.statusCode === 409)];
    const again = (await call('GET', '/v1/cart', loser)).json();
    const expected = (after[0].discountGiven < 2000 ? 500 : 0) + (after[1].timesUsed < 3 ? 100 : 0);
    expect(again.totals.discountTotal.amount).toBe(expected);
    const second = await checkout(system, loser, { expectedTotal: again.total });
    expect([201, 202]).toContain(second.statusCode);
    // Everyone left buys at the price shown until both campaigns are spent, and never past them.
    for (const [index, answer] of answers.entries()) {
      if (answer.statusCode !== 409 || buyers[index] === loser) continue;
      const cart = (await call('GET', '/v1/cart', buyers[index])).json();
      const bought = await checkout(system, buyers[index], { expectedTotal: cart.total });
      expect([201, 202], bought.body).toContain(bought.statusCode);
    }
    await eventually(
      async () => ((await promotionNow(budgeted.id)).discountGiven === 2000 ? true : undefined),
      30_000,
    );
    expect(await promotionNow(budgeted.id)).toMatchObject({ discountGiven: 2000, timesUsed: 4 });
    expect(await promotionNow(limited.id)).toMatchObject({ timesUsed: 3, discountGiven: 300 });
  });

  it('a simulator replays the orders of a period against a draft promotion and says what it would have cost, changing nothing', async () => {
    const from = new Date().toISOString();
    const candle = await createProduct(system, staff, { price: 1000, stock: 100 });
    const other = await createProduct(system, staff, { price: 5000, stock: 100 });
    const [ada, grace, emmy] = await Promise.all([signIn(system), signIn(system), signIn(system)]);
    const buy = async (buyer: SignedInUser, lines: Array<[string, number]>) => {
      for (const [variantId, quantity] of lines) await addToCart(system, buyer, variantId, quantity);
      const placed = await checkout(system, buyer);
      // 202 on a loaded machine: the order is placed all the same, and a pending order is replayed too.
      expect([201, 202], placed.body).toContain(placed.statusCode);
      return placed.json();
    };
    await buy(ada, [[candle.variantId, 3]]); // one free candle
    await buy(ada, [[candle.variantId, 3]]); // Ada again: over the limit of one per customer
    await buy(grace, [
      [candle.variantId, 1],
      [other.variantId, 1],
    ]); // too few candles
    const emmys = await buy(emmy, [[candle.variantId, 6]]); // two free
    // A draft: created, then deactivated before any cart saw it.
    const draft = await promotion({
      name: 'Candle 3 for 2',
      automatic: true,
      kind: 'buy_x_get_y',
      buyQuantity: 2,
      getQuantity: 1,
      perCustomerLimit: 1,
      target: { productIds: [candle.productId] },
    });
    expect((await call('DELETE', `/v1/promotions/${draft.id}`, staff)).statusCode).toBe(204);

    const to = new Date(Date.now() + 1000).toISOString();
    const customer = await signIn(system);
    expect(
      (await call('POST', `/v1/promotions/${draft.id}/simulate`, customer, { from, to })).statusCode,
    ).toBe(403);
    const simulated = await call('POST', `/v1/promotions/${draft.id}/simulate`, staff, { from, to });
    expect(simulated.statusCode, simulated.body).toBe(200);
    expect(simulated.json()).toMatchObject({
      orders: 4,
      truncated: false,
      qualifying: 2,
      customers: 2,
      cost: [{ amount: 1000 + 2000, currency: 'EUR' }],
      refusedByLimits: 1,
    });
    // Nothing replayed changed: the promotion's counters and the orders are as they were.
    expect(await promotionNow(draft.id)).toMatchObject({ timesUsed: 0, discountGiven: 0, active: false });
    const after = (await call('GET', `/v1/orders/${emmys.id}`, staff)).json();
    expect(after.total).toEqual(emmys.total);
    expect(after.totals.discounts).toEqual([]);
    const backwards = await call('POST', `/v1/promotions/${draft.id}/simulate`, staff, {
      from: to,
      to: from,
    });
    expect(backwards.json()).toMatchObject({ status: 400, detail: 'to must be after from' });
  });
});
