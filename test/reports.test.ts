import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { addToCart, apiCaller, checkout, createProduct, eventually, shipFirstLine } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

interface ListedOrder {
  id: string;
  items: Array<{ id: string; quantity: number }>;
  status: string;
  total: { amount: number; currency: string };
  payment: { refunded: { amount: number } };
  createdAt: string;
}

const PAID = ['confirmed', 'partially_shipped', 'shipped'];

/** Staff's reading of the orders: the sales report against the orders themselves, search, the timeline. */
describe.each(dbKinds)('reports, order search and timelines on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '50' });
    staff = await signIn(system, 'admin');
    await system.startWorkers();
  });
  afterAll(() => system.dispose());

  const call = apiCaller(() => system);

  async function buy(user: SignedInUser, variantId: string, quantity: number) {
    await addToCart(system, user, variantId, quantity);
    const placed = await checkout(system, user);
    expect(placed.statusCode).toBe(201);
    return placed.json() as ListedOrder;
  }

  /** Every order placed in [from, to), read back through the orders list. */
  async function ordersBetween(from: string, to: string): Promise<ListedOrder[]> {
    const listed = await call('GET', `/v1/orders?size=100&from=${from}&to=${to}`, staff);
    expect(listed.statusCode).toBe(200);
    return listed.json().items;
  }

  const kept = (orders: ListedOrder[]) =>
    orders
      .filter((order) => PAID.includes(order.status))
      .reduce((sum, order) => sum + order.total.amount - order.payment.refunded.amount, 0);

  it('sums what paid orders kept in the period, against the period before, by status and top product', async () => {
    const customer = await signIn(system);
    const kettle = await createProduct(system, staff, { price: 2000, stock: 50 });
    const mug = await createProduct(system, staff, { price: 700, stock: 50 });
    const earlyStart = new Date().toISOString();
    await buy(customer, kettle.variantId, 1);
    await buy(customer, mug.variantId, 1);
    const middle = Date.now();
    const from = new Date(middle).toISOString();
    const refunded = await buy(customer, kettle.variantId, 2);
    await buy(customer, mug.variantId, 3);
    const cancelled = await buy(customer, kettle.variantId, 1);
    expect(
      (
        await call('POST', `/v1/orders/${refunded.id}/refunds`, staff, {
          amount: { amount: 500, currency: 'EUR' },
          reason: 'Dented box',
        })
      ).statusCode,
    ).toBe(201);
    expect((await call('POST', `/v1/orders/${cancelled.id}/cancel`, staff)).statusCode).toBe(200);
    // As long as both stretches, so the period before holds the two earlier orders.
    const length = Math.max(middle - new Date(earlyStart).getTime(), Date.now() - middle) + 1;
    const to = new Date(middle + length).toISOString();

    const answer = await call('GET', `/v1/reports/sales?from=${from}&to=${to}&interval=day`, staff);
    expect(answer.statusCode).toBe(200);
    const report = answer.json();
    const inPeriod = await ordersBetween(from, to);
    expect(inPeriod).toHaveLength(3);
    const paid = inPeriod.filter((order) => PAID.includes(order.status));
    expect(report.sales).toEqual({ amount: kept(inPeriod), currency: 'EUR' });
    expect(report.sales.amount).toBe(paid[0].total.amount + paid[1].total.amount - 500);
    expect(report.orders).toBe(2);
    expect(report.averageOrderValue.amount).toBe(Math.round(report.sales.amount / 2));
    expect(report.byStatus).toMatchObject({ confirmed: 2, cancelled: 1, pending: 0 });
    // The series covers the period day by day, and adds up to the period's sales.
    expect(
      report.series.reduce((sum: number, day: { sales: { amount: number } }) => sum + day.sales.amount, 0),
    ).toBe(report.sales.amount);
    expect(report.series[0].start).toBe(`${from.slice(0, 10)}T00:00:00.000Z`);
    // Units: two kettles (the cancelled one does not count) and three mugs; mugs sold most.
    expect(
      report.topProducts.map((top: { sku: string; quantity: number }) => [top.sku, top.quantity]),
    ).toEqual([
      [mug.sku, 3],
      [kettle.sku, 2],
    ]);
    expect(report.topProducts[1].sales).toEqual({ amount: 4000, currency: 'EUR' });

    // The period before is as long and ends where this one starts: the two earlier orders.
    const before = await ordersBetween(report.previous.from, from);
    expect(report.previous.to).toBe(from);
    expect(new Date(report.previous.from).getTime()).toBe(
      2 * new Date(from).getTime() - new Date(to).getTime(),
    );
    expect(before.every((order) => order.createdAt >= earlyStart)).toBe(true);
    expect(report.previous).toMatchObject({ orders: before.length, sales: { amount: kept(before) } });
    expect(report.previous.orders).toBe(2);
  });

  it('fills every interval of the period, weeks from Monday and months from the first, in UTC', async () => {
    const months = (
      await call(
        'GET',
        '/v1/reports/sales?from=2026-01-15T00:00:00Z&to=2026-03-02T00:00:00Z&interval=month',
        staff,
      )
    ).json();
    expect(months.series.map((bucket: { start: string }) => bucket.start)).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    expect(months).toMatchObject({ orders: 0, sales: { amount: 0 }, averageOrderValue: { amount: 0 } });
    const weeks = (
      await call(
        'GET',
        '/v1/reports/sales?from=2026-11-04T10:00:00Z&to=2026-11-17T00:00:00Z&interval=week',
        staff,
      )
    ).json();
    expect(weeks.series.map((bucket: { start: string }) => bucket.start)).toEqual([
      '2026-11-02T00:00:00.000Z',
      '2026-11-09T00:00:00.000Z',
      '2026-11-16T00:00:00.000Z',
    ]);
  });

  it('refuses a period that ends before it starts or has too many intervals, and customers', async () => {
    const backwards = await call(
      'GET',
      '/v1/reports/sales?from=2026-03-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      staff,
    );
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json()).toMatchObject({ code: 'REPORT_RANGE_INVALID' });
    const long = await call(
      'GET',
      '/v1/reports/sales?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      staff,
    );
    expect(long.json()).toMatchObject({ status: 400, code: 'REPORT_RANGE_TOO_LONG' });
    expect(long.json().detail).toMatch(/longer interval/);
    expect((await call('GET', '/v1/reports/sales?interval=hour', staff)).statusCode).toBe(400);
    const customer = await signIn(system);
    expect((await call('GET', '/v1/reports/sales', customer)).statusCode).toBe(403);
  });

  it('lists the variants at or below their threshold, the emptiest first, by product name', async () => {
    const last = await createProduct(system, staff, { name: 'Last Teapot', stock: 1 });
    const plenty = await createProduct(system, staff, { name: 'Plenty Cups', stock: 80 });
    const customer = await signIn(system);
    await buy(customer, last.variantId, 1);
    const low = (await call('GET', '/v1/low-stock?limit=100', staff)).json().items;
    expect(low.find((item: { sku: string }) => item.sku === last.sku)).toMatchObject({
      productName: 'Last Teapot',
      productId: last.productId,
      available: 0,
      threshold: 5,
    });
    expect(low.map((item: { sku: string }) => item.sku)).not.toContain(plenty.sku);
    const available = low.map((item: { available: number }) => item.available);
    expect(available).toEqual([...available].sort((a, b) => a - b));
    expect((await call('GET', '/v1/low-stock', customer)).statusCode).toBe(403);
  });

  it("finds orders by number, by the customer's email or name, by a guest's email, and by status and date", async () => {
    const customer = await signIn(system);
    const lamp = await createProduct(system, staff, { price: 3100, stock: 20 });
    const order = await buy(customer, lamp.variantId, 1);
    const ids = async (query: string) =>
      ((await call('GET', `/v1/orders?${query}`, staff)).json().items as ListedOrder[]).map(
        (found) => found.id,
      );

    expect(await ids(`q=${order.id.slice(-8)}`)).toEqual([order.id]);
    expect(await ids(`q=${order.id.slice(-8).toUpperCase()}`)).toEqual([order.id]);
    expect(await ids(`q=${encodeURIComponent(customer.email.toUpperCase())}`)).toContain(order.id);
    expect(await ids(`q=${encodeURIComponent('no-such-person@example.test')}`)).toEqual([]);
    // A LIKE wildcard is matched literally, not as "anything".
    expect(await ids('q=%25')).toEqual([]);
    expect(await ids(`status=confirmed&q=${order.id.slice(-8)}`)).toEqual([order.id]);
    expect(await ids(`status=cancelled&q=${order.id.slice(-8)}`)).toEqual([]);
    expect(await ids(`from=${new Date(Date.now() + 60_000).toISOString()}&q=${order.id.slice(-8)}`)).toEqual(
      [],
    );

    const guest = await call('POST', '/v1/carts', undefined);
    const cartToken = guest.json().cartToken as string;
    const shopper = { headers: { 'cart-token': cartToken } };
    await addToCart(system, shopper, lamp.variantId, 1);
    const guestOrder = (await checkout(system, shopper, { email: 'Visitor.Search@example.test' })).json();
    expect(await ids('q=visitor.search')).toEqual([guestOrder.id]);
    // A customer's own list ignores the search: it is always just theirs.
    const theirs = (await call('GET', `/v1/orders?q=${guestOrder.id.slice(-8)}`, customer)).json().items;
    expect(theirs.map((found: ListedOrder) => found.id)).toEqual([order.id]);
  });

  it("tells an order's story: placed, paid, the mail it sent, its webhook deliveries, shipped, and staff notes in order", async () => {
    const received: string[] = [];
    const receiver = http.createServer(async (request, response) => {
      for await (const _chunk of request);
      received.push(String(request.headers['webhook-id']));
      response.writeHead(204).end();
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      expect((await call('POST', '/v1/webhooks', staff, { url, events: ['order.*'] })).statusCode).toBe(201);
      const customer = await signIn(system);
      const vase = await createProduct(system, staff, { price: 4200, stock: 5 });
      const order = await buy(customer, vase.variantId, 1);
      const parcel = { carrier: 'DHL', trackingNumber: 'JJD0001' };
      expect((await shipFirstLine(system, staff, order, parcel)).statusCode).toBe(201);
      const note = await call('POST', `/v1/orders/${order.id}/notes`, staff, {
        body: '  Gift wrap, please  ',
      });
      expect(note.statusCode).toBe(201);
      expect(note.json()).toMatchObject({ author: 'Test admin', body: 'Gift wrap, please' });

      type Entry = {
        kind: string;
        type?: string;
        eventType?: string;
        status?: string;
        template?: string;
        at: string;
      };
      const timeline = await eventually(async () => {
        const items = (await call('GET', `/v1/orders/${order.id}/timeline`, staff)).json().items as Entry[];
        const delivered = items.filter((entry) => entry.kind === 'webhook' && entry.status === 'succeeded');
        const mailed = items.filter((entry) => entry.kind === 'email' && entry.status === 'sent');
        return delivered.length >= 3 && mailed.length >= 2 ? items : undefined;
      });
      const events = timeline.filter((entry) => entry.kind === 'event').map((entry) => entry.type);
      expect(events).toEqual(expect.arrayContaining(['order.created', 'order.confirmed', 'order.shipped']));
      expect(events.indexOf('order.created')).toBeLessThan(events.indexOf('order.shipped'));
      expect(timeline.filter((entry) => entry.kind === 'email').map((entry) => entry.template)).toEqual(
        expect.arrayContaining(['order_confirmed', 'order_shipped']),
      );
      expect(timeline.filter((entry) => entry.kind === 'webhook').map((entry) => entry.eventType)).toEqual(
        expect.arrayContaining(['order.created', 'order.confirmed', 'order.shipped']),
      );
      expect(timeline.filter((entry) => entry.kind === 'note')).toHaveLength(1);
      const times = timeline.map((entry) => entry.at);
      expect(times).toEqual([...times].sort());

      // Notes are staff's: checked like every route, and the order must exist.
      expect((await call('POST', `/v1/orders/${order.id}/notes`, staff, { body: '   ' })).statusCode).toBe(
        400,
      );
      expect(
        (await call('POST', `/v1/orders/${order.id}/notes`, customer, { body: 'Mine' })).statusCode,
      ).toBe(403);
      expect((await call('GET', `/v1/orders/${order.id}/timeline`, customer)).statusCode).toBe(403);
      const unknown = '0190a0b0-0000-7000-8000-000000000000';
      expect((await call('GET', `/v1/orders/${unknown}/timeline`, staff)).statusCode).toBe(404);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('tells what staff did after: the edit, a refund, the return received and its refund, in order', async () => {
    const customer = await signIn(system);
    const lamp = await createProduct(system, staff, { price: 3000, stock: 5 });
    const bulb = await createProduct(system, staff, { price: 500, stock: 5 });
    const order = await buy(customer, lamp.variantId, 2);
    const edited = await call(
      'POST',
      `/v1/orders/${order.id}/edits`,
      staff,
      {
        add: [{ variantId: bulb.variantId, quantity: 1 }],
        reason: 'Phoned for a bulb',
        payment: { token: 'tok_visa' },
      },
      { 'idempotency-key': crypto.randomUUID() },
    );
    expect(edited.statusCode, edited.body).toBe(200);
    const refunded = await call(
      'POST',
      `/v1/orders/${order.id}/refunds`,
      staff,
      { amount: { amount: 250, currency: 'EUR' }, reason: 'late' },
      { 'idempotency-key': crypto.randomUUID() },
    );
    expect(refunded.statusCode, refunded.body).toBe(201);
    const editedLines = edited.json().items as Array<{ id: string; variantId: string }>;
    const lampLine = editedLines.find((item) => item.variantId === lamp.variantId)!;
    const shipped = await call('POST', `/v1/orders/${order.id}/fulfillments`, staff, {
      items: [{ orderItemId: lampLine.id, quantity: 1 }],
      carrier: 'DHL',
      trackingNumber: 'JJD0002',
    });
    expect(shipped.statusCode, shipped.body).toBe(201);
    const requested = await call('POST', `/v1/orders/${order.id}/returns`, customer, {
      items: [{ orderItemId: lampLine.id, quantity: 1 }],
      reason: 'too bright',
    });
    expect(requested.statusCode, requested.body).toBe(201);
    expect((await call('POST', `/v1/returns/${requested.json().id}/receive`, staff)).statusCode).toBe(200);

    type Entry = { kind: string; type?: string; data?: Record<string, unknown>; at: string };
    const events = (await call('GET', `/v1/orders/${order.id}/timeline`, staff))
      .json()
      .items.filter((entry: Entry) => entry.kind === 'event') as Entry[];
    const types = events.map((entry) => entry.type);
    const story = ['order.created', 'order.edited', 'order.shipped', 'order.returned'];
    expect(types).toEqual(expect.arrayContaining([...story, 'payment.refunded']));
    expect(story.map((type) => types.indexOf(type))).toEqual(
      story.map((type) => types.indexOf(type)).sort((a, b) => a - b),
    );
    expect(events.find((entry) => entry.type === 'order.edited')?.data).toMatchObject({ version: 2 });
    const refunds = events.filter((entry) => entry.type === 'payment.refunded').map((entry) => entry.data);
    expect(refunds).toEqual(
      expect.arrayContaining([expect.objectContaining({ amount: 250, reason: 'late' })]),
    );
    expect(events.find((entry) => entry.type === 'order.returned')?.data).toMatchObject({
      refund: { amount: expect.any(Number), currency: 'EUR' },
    });
  });
});
