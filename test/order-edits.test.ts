import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import {
  addToCart,
  apiCaller,
  BERLIN,
  checkout,
  createProduct,
  shipFirstLine,
  stockOf,
} from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

interface OrderLine {
  id: string;
  variantId: string;
  quantity: number;
  lineTotal: { amount: number };
  discount: { amount: number };
  tax: { amount: number };
}

/**
 * Order edits through HTTP: staff change an order before it ships; the difference is charged to a
 * card or refunded, the stock follows, and the order keeps its versions. The money is checked in
 * the payment provider's own ledger, across the order's payment and its edits' payments.
 */
describe.each(dbKinds)('order edits on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { PAYMENTS_TIMEOUT_MS: '8000', REQUEST_TIMEOUT_MS: '60000' });
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = apiCaller(() => system);
  const edit = (orderId: string, payload: object, key = randomUUID()) =>
    call('POST', `/v1/orders/${orderId}/edits`, staff, payload, { 'idempotency-key': key });
  const order = async (id: string) => (await call('GET', `/v1/orders/${id}`, staff)).json();

  /** What the provider holds for the order: captured less refunded, over its payment and every edit's. */
  async function heldAtProvider(orderId: string): Promise<number> {
    const edits = (await call('GET', `/v1/orders/${orderId}/edits`, staff)).json().items as Array<{
      id: string;
    }>;
    const references = new Set([orderId, ...edits.map((e) => e.id)]);
    return system
      .sandbox!.ledger()
      .filter((entry) => references.has(entry.reference))
      .reduce(
        (sum, entry) =>
          sum + (entry.kind === 'capture' ? entry.amount : entry.kind === 'refund' ? -entry.amount : 0),
        0,
      );
  }

  async function placed(lines: Array<{ variantId: string; quantity: number }>) {
    const customer = await signIn(system);
    for (const line of lines) await addToCart(system, customer, line.variantId, line.quantity);
    const response = await checkout(system, customer, { address: BERLIN });
    expect(response.statusCode).toBe(201);
    return { customer, order: response.json() };
  }

  const charge = (line: OrderLine) => line.lineTotal.amount - line.discount.amount + line.tax.amount;

  it('charges a raised total to the card, sells the stock, keeps the versions, and makes the edit once', async () => {
    const kettle = await createProduct(system, staff, { price: 1250, stock: 5 });
    const mug = await createProduct(system, staff, { price: 800, stock: 5 });
    const { customer, order: first } = await placed([{ variantId: kettle.variantId, quantity: 1 }]);
    expect(first.version).toBe(1);

    const add = { add: [{ variantId: mug.variantId, quantity: 2 }] };
    const preview = await call('POST', `/v1/orders/${first.id}/edits/preview`, staff, add);
    expect(preview.statusCode).toBe(200);
    const planned = preview.json();
    const mugLine = planned.items.find((item: OrderLine) => item.variantId === mug.variantId);
    expect(planned.settlement).toBe('charge');
    expect(planned.difference.amount).toBe(charge(mugLine));
    expect(planned.totals.total.amount).toBe(first.total.amount + planned.difference.amount);
    // The kept line keeps what it was sold at.
    expect(planned.items.find((item: OrderLine) => item.variantId === kettle.variantId)).toEqual(
      first.items[0],
    );

    // No card: refused in a sentence, nothing changed.
    const unpaid = await edit(first.id, add);
    expect(unpaid.statusCode).toBe(400);
    expect(unpaid.json()).toMatchObject({ code: 'PAYMENT_TOKEN_REQUIRED' });
    expect(unpaid.json().detail).toMatch(/adds €?[\d.,]+ ?€? to the total/);
    // A declined card: 402, the order as it was, the stock untouched.
    const declined = await edit(first.id, { ...add, payment: { token: 'tok_declined' } });
    expect(declined.statusCode).toBe(402);
    expect(declined.json().detail).toContain('the order was not changed');
    expect((await order(first.id)).version).toBe(1);
    expect((await stockOf(system, staff, mug.sku)).onHand).toBe(5);

    const key = randomUUID();
    const edited = await edit(
      first.id,
      { ...add, reason: 'Phoned to add two mugs', payment: { token: 'tok_visa' } },
      key,
    );
    expect(edited.statusCode).toBe(200);
    const after = edited.json();
    expect(after).toMatchObject({ version: 2, status: 'confirmed', total: planned.totals.total });
    expect(after.payment.captured.amount).toBe(after.total.amount);
    expect((await stockOf(system, staff, mug.sku)).onHand).toBe(3);
    expect(await heldAtProvider(first.id)).toBe(after.total.amount);
    // The same key again: the same edit, not a second charge.
    expect((await edit(first.id, { ...add, payment: { token: 'tok_visa' } }, key)).json().version).toBe(2);
    expect(await heldAtProvider(first.id)).toBe(after.total.amount);

    const versions = (await call('GET', `/v1/orders/${first.id}/edits`, staff)).json().items;
    const applied = versions.filter((v: { status: string }) => v.status === 'applied');
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({
      version: 2,
      reason: 'Phoned to add two mugs',
      totalBefore: first.total,
      totalAfter: after.total,
      charged: planned.difference,
      changes: [{ sku: mug.sku, before: 0, after: 2 }],
    });
    // The customer sees the new version; only staff edit.
    expect((await call('GET', `/v1/orders/${first.id}`, customer)).json().version).toBe(2);
    expect((await call('POST', `/v1/orders/${first.id}/edits`, customer, add)).statusCode).toBe(403);

    // Cancelled, everything comes back: both payments refunded, the stock on hand again.
    expect((await call('POST', `/v1/orders/${first.id}/cancel`, staff)).json().status).toBe('cancelled');
    expect(await heldAtProvider(first.id)).toBe(0);
    expect((await stockOf(system, staff, mug.sku)).onHand).toBe(5);
    expect((await stockOf(system, staff, kettle.sku)).onHand).toBe(5);
  });

  it('refunds a lowered total, the edit payments first, and puts the units back', async () => {
    const kettle = await createProduct(system, staff, { price: 1250, stock: 6 });
    const mug = await createProduct(system, staff, { price: 800, stock: 6 });
    const { order: first } = await placed([
      { variantId: kettle.variantId, quantity: 3 },
      { variantId: mug.variantId, quantity: 1 },
    ]);
    const kettleLine = first.items.find((item: OrderLine) => item.variantId === kettle.variantId);
    const mugLine = first.items.find((item: OrderLine) => item.variantId === mug.variantId);
    const raised = await edit(first.id, {
      change: [{ itemId: mugLine.id, quantity: 3 }],
      payment: { token: 'tok_visa' },
    });
    expect(raised.json().version).toBe(2);

    const lowered = await edit(first.id, {
      change: [{ itemId: kettleLine.id, quantity: 1 }],
      remove: [mugLine.id],
    });
    expect(lowered.statusCode).toBe(200);
    const after = lowered.json();
    expect(after.version).toBe(3);
    expect(after.items).toHaveLength(1);
    expect(after.items[0]).toMatchObject({ id: kettleLine.id, quantity: 1, unitPrice: kettleLine.unitPrice });
    expect(after.total.amount).toBe(charge(after.items[0]) + first.totals.shippingTotal.amount);
    expect(await heldAtProvider(first.id)).toBe(after.total.amount);
    expect(after.payment.captured.amount - after.payment.refunded.amount).toBe(after.total.amount);
    expect((await stockOf(system, staff, kettle.sku)).onHand).toBe(5);
    expect((await stockOf(system, staff, mug.sku)).onHand).toBe(6);
    const versions = (await call('GET', `/v1/orders/${first.id}/edits`, staff)).json().items;
    expect(versions.map((v: { version: number; status: string }) => [v.version, v.status])).toEqual([
      [2, 'applied'],
      [3, 'applied'],
    ]);
    // The mug edit's own payment was refunded first, all of it.
    const [mugEdit] = versions;
    const mugPayment = system.sandbox!.ledger().filter((entry) => entry.reference === mugEdit.id);
    expect(mugPayment.filter((e) => e.kind === 'refund').reduce((s, e) => s + e.amount, 0)).toBe(
      mugEdit.charged.amount,
    );

    // Shipped, it can no longer be edited.
    expect(
      (await shipFirstLine(system, staff, after, { carrier: 'DHL', trackingNumber: 'E1' })).statusCode,
    ).toBe(201);
    const late = await edit(first.id, {
      change: [{ itemId: kettleLine.id, quantity: 2 }],
      payment: { token: 'tok_visa' },
    });
    expect(late.statusCode).toBe(409);
    expect(late.json().detail).toContain('not yet shipped');
  });

  it('refuses edits that make no sense, in sentences', async () => {
    const lamp = await createProduct(system, staff, { price: 4500, stock: 4 });
    const { order: first } = await placed([{ variantId: lamp.variantId, quantity: 1 }]);
    const line = first.items[0];
    const cases: Array<[object, number, string]> = [
      [{ remove: [line.id] }, 400, 'EDIT_EMPTY'],
      [{ change: [{ itemId: randomUUID(), quantity: 2 }] }, 400, 'EDIT_LINE_UNKNOWN'],
      [{ add: [{ variantId: lamp.variantId, quantity: 1 }] }, 400, 'EDIT_LINE_EXISTS'],
      [{ change: [{ itemId: line.id, quantity: 1 }] }, 400, 'EDIT_NO_CHANGE'],
      [{ add: [{ variantId: randomUUID(), quantity: 1 }] }, 409, 'PRODUCT_UNAVAILABLE'],
      [{ change: [{ itemId: line.id, quantity: 9 }], payment: { token: 'tok_visa' } }, 409, 'OUT_OF_STOCK'],
      [{ change: [{ itemId: line.id, quantity: 0 }] }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [payload, status, code] of cases) {
      const response = await edit(first.id, payload);
      expect([response.statusCode, response.json().code]).toEqual([status, code]);
      expect(response.json().detail).toMatch(/^[A-Z]/);
    }
    expect((await order(first.id)).version).toBe(1);
    // Out of stock was refused after the charge: it went back.
    expect(await heldAtProvider(first.id)).toBe(first.total.amount);
    expect((await stockOf(system, staff, lamp.sku)).onHand).toBe(3);
  });

  it('racing edits of one order: each version is made once, the others are told to reload and keep nothing', async () => {
    const kettle = await createProduct(system, staff, { price: 1250, stock: 50 });
    const { order: first } = await placed([{ variantId: kettle.variantId, quantity: 1 }]);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        edit(first.id, {
          change: [{ itemId: first.items[0].id, quantity: index + 2 }],
          payment: { token: 'tok_visa' },
        }),
      ),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    const made = statuses.filter((status) => status === 200).length;
    expect(made).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((status) => status !== 200).every((status) => status === 409)).toBe(true);
    // Each edit that was made, made a version of its own (one that started after another ended
    // edits the new version); the versions have no gaps.
    const now = await order(first.id);
    expect(now.version).toBe(1 + made);
    expect(new Set(answers.filter((a) => a.statusCode === 200).map((a) => a.json().version)).size).toBe(made);
    expect(await heldAtProvider(first.id)).toBe(now.total.amount);
    expect((await stockOf(system, staff, kettle.sku)).onHand).toBe(50 - now.items[0].quantity);
  });

  it('an edit racing a cancellation: the order ends cancelled with every payment given back and the stock home', async () => {
    for (let round = 0; round < 3; round++) {
      const kettle = await createProduct(system, staff, { price: 1250, stock: 10 });
      const { order: first } = await placed([{ variantId: kettle.variantId, quantity: 1 }]);
      const [edited, cancelled] = await Promise.all([
        edit(first.id, {
          change: [{ itemId: first.items[0].id, quantity: 4 }],
          payment: { token: 'tok_visa' },
        }),
        call('POST', `/v1/orders/${first.id}/cancel`, staff),
      ]);
      expect([200, 409]).toContain(edited.statusCode);
      if (cancelled.statusCode !== 200) {
        // The edit held the order: the cancellation was refused, and comes now.
        expect(cancelled.statusCode).toBe(409);
        expect((await call('POST', `/v1/orders/${first.id}/cancel`, staff)).statusCode).toBe(200);
      }
      expect((await order(first.id)).status).toBe('cancelled');
      expect(await heldAtProvider(first.id)).toBe(0);
      expect(await stockOf(system, staff, kettle.sku)).toMatchObject({ onHand: 10, reserved: 0 });
    }
  });
});
