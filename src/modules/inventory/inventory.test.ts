import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';
import { transact } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { InventoryModule } from './index.ts';

describe.each(dbKinds)('inventory on %s', (kind) => {
  let system: TestSystem;
  let inventory: InventoryModule;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    inventory = moduleOf(system, 'inventory');
  });
  afterAll(() => system.dispose());

  const newItem = async (onHand: number) => {
    const item = { variantId: uuidv7(), sku: `SKU-${uuidv7().slice(-12)}`, onHand };
    await inventory.service.createItems(system.database.db, [item]);
    return item;
  };

  it('never reserves beyond stock under concurrency: 50 buyers, 10 units', async () => {
    const item = await newItem(10);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        transact(system.database.db, (tx) =>
          inventory.service.reserve(
            tx,
            uuidv7(),
            [{ variantId: item.variantId, quantity: 1 }],
            new Date(Date.now() + 60_000),
          ),
        ),
      ),
    );
    const won = results.filter((result) => result.status === 'fulfilled').length;
    expect(won).toBe(10);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason.code).toBe('OUT_OF_STOCK');
    }
    expect(await inventory.service.get(item.sku)).toEqual({
      sku: item.sku,
      onHand: 10,
      reserved: 10,
      available: 0,
      locations: [{ code: 'main', onHand: 10, reserved: 10, available: 0 }],
    });
  });

  it('reserves all lines or none', async () => {
    const plenty = await newItem(5);
    const scarce = await newItem(1);
    const orderId = uuidv7();
    await expect(
      transact(system.database.db, (tx) =>
        inventory.service.reserve(
          tx,
          orderId,
          [
            { variantId: plenty.variantId, quantity: 2 },
            { variantId: scarce.variantId, quantity: 2 },
          ],
          new Date(Date.now() + 60_000),
        ),
      ),
    ).rejects.toMatchObject({ code: 'OUT_OF_STOCK', extensions: { variantIds: [scarce.variantId] } });
    expect((await inventory.service.get(plenty.sku)).reserved).toBe(0);
    expect(await inventory.service.reservations(orderId)).toEqual([]);
  });

  it('commits and releases idempotently, recording every change in the ledger', async () => {
    const item = await newItem(4);
    const sold = uuidv7();
    const abandoned = uuidv7();
    const expires = new Date(Date.now() + 60_000);
    await transact(system.database.db, (tx) =>
      inventory.service.reserve(tx, sold, [{ variantId: item.variantId, quantity: 3 }], expires),
    );
    await transact(system.database.db, (tx) =>
      inventory.service.reserve(tx, abandoned, [{ variantId: item.variantId, quantity: 1 }], expires),
    );
    expect(await transact(system.database.db, (tx) => inventory.service.commit(tx, sold))).toBe(true);
    expect(await transact(system.database.db, (tx) => inventory.service.commit(tx, sold))).toBe(false);
    expect(
      await transact(system.database.db, (tx) => inventory.service.release(tx, abandoned, 'cancelled')),
    ).toBe(1);
    expect(
      await transact(system.database.db, (tx) => inventory.service.release(tx, abandoned, 'cancelled')),
    ).toBe(0);
    expect(await inventory.service.get(item.sku)).toEqual({
      sku: item.sku,
      onHand: 1,
      reserved: 0,
      available: 1,
      locations: [{ code: 'main', onHand: 1, reserved: 0, available: 1 }],
    });
    const reasons = (await inventory.service.ledger(item.sku)).map((entry) => [
      entry.reason,
      entry.deltaOnHand,
      entry.deltaReserved,
    ]);
    expect(reasons).toEqual([
      ['reserved', 0, 3],
      ['reserved', 0, 1],
      ['sold', -3, -3],
      ['cancelled', 0, -1],
    ]);
  });

  it('lets staff read, set and adjust stock; customers get 403 and anonymous 401', async () => {
    const item = await newItem(3);
    const staff = await signIn(system, 'staff');
    const customer = await signIn(system, 'customer');
    const url = `/v1/inventory/${item.sku}`;
    expect((await system.app.inject({ method: 'GET', url })).statusCode).toBe(401);
    expect((await system.app.inject({ method: 'GET', url, headers: customer.headers })).statusCode).toBe(403);
    const read = await system.app.inject({ method: 'GET', url, headers: staff.headers });
    expect(read.json()).toEqual({
      sku: item.sku,
      onHand: 3,
      reserved: 0,
      available: 3,
      locations: [{ code: 'main', onHand: 3, reserved: 0, available: 3 }],
    });

    const set = await system.app.inject({
      method: 'PUT',
      url,
      headers: staff.headers,
      payload: { onHand: 7 },
    });
    expect(set.statusCode).toBe(200);
    expect(set.json().onHand).toBe(7);
    const adjusted = await system.app.inject({
      method: 'POST',
      url: `${url}/adjustments`,
      headers: staff.headers,
      payload: { delta: -2, reason: 'damaged' },
    });
    expect(adjusted.statusCode).toBe(201);
    expect(adjusted.json()).toMatchObject({ sku: item.sku, onHand: 5, reserved: 0, available: 5 });
    const ledger = await inventory.service.ledger(item.sku);
    expect(ledger.map((entry) => [entry.reason, entry.deltaOnHand, entry.actorId])).toEqual([
      ['stock take', 4, staff.id],
      ['damaged', -2, staff.id],
    ]);

    const below = await system.app.inject({
      method: 'POST',
      url: `${url}/adjustments`,
      headers: staff.headers,
      payload: { delta: -6, reason: 'lost' },
    });
    expect(below.json()).toMatchObject({
      code: 'INVENTORY_CONFLICT',
      detail: 'Stock cannot go below zero: there are 5 units on hand at Main warehouse',
    });
    await reserveOne(item.variantId);
    const held = await system.app.inject({
      method: 'PUT',
      url,
      headers: staff.headers,
      payload: { onHand: 0 },
    });
    expect(held.json()).toMatchObject({
      code: 'INVENTORY_CONFLICT',
      detail:
        '1 of the 5 units on hand at Main warehouse is held for orders not yet shipped: at least 1 unit must stay',
    });
    const negative = await system.app.inject({
      method: 'PUT',
      url,
      headers: staff.headers,
      payload: { onHand: -1 },
    });
    expect(negative.statusCode).toBe(400);
    const missing = await system.app.inject({
      method: 'GET',
      url: '/v1/inventory/NOPE',
      headers: staff.headers,
    });
    expect(missing.statusCode).toBe(404);
  });

  const lowEvents = async (variantId: string) =>
    (await system.bus.events({ type: 'inventory.low', subject: variantId })).map((event) => event.data);
  const reserveOne = (variantId: string, orderId = uuidv7()) =>
    transact(system.database.db, (tx) =>
      inventory.service.reserve(tx, orderId, [{ variantId, quantity: 1 }], new Date(Date.now() + 60_000)),
    );

  it('emits inventory.low exactly once when concurrent sales take stock to the threshold', async () => {
    // Threshold 5 (INVENTORY_LOW_THRESHOLD's default): 20 racing buyers of one unit out of 12.
    const item = await newItem(12);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => reserveOne(item.variantId)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(12);
    expect(await lowEvents(item.variantId)).toEqual([
      { variantId: item.variantId, sku: item.sku, available: 5, onHand: 12, reserved: 7, threshold: 5 },
    ]);
  });

  it('stays quiet while already low, re-arms after a restock above the threshold, and a rolled-back sale says nothing', async () => {
    const item = await newItem(8);
    await reserveOne(item.variantId);
    await reserveOne(item.variantId);
    expect(await lowEvents(item.variantId)).toHaveLength(0);
    const crossing = uuidv7();
    await reserveOne(item.variantId, crossing);
    await reserveOne(item.variantId);
    expect(await lowEvents(item.variantId)).toHaveLength(1);
    // Restocked above the threshold (available 4 + 10 = 14): the next fall to 5 is news again.
    const staff = await signIn(system, 'staff');
    await inventory.service.adjust(item.sku, 10, 'delivery', staff.id);
    expect(await lowEvents(item.variantId)).toHaveLength(1);
    // A sale that rolls back (a later line of its order is short) crosses nothing.
    const short = await newItem(0);
    await expect(
      transact(system.database.db, (tx) =>
        inventory.service.reserve(
          tx,
          uuidv7(),
          [
            { variantId: item.variantId, quantity: 9 },
            { variantId: short.variantId, quantity: 1 },
          ],
          new Date(Date.now() + 60_000),
        ),
      ),
    ).rejects.toMatchObject({ code: 'OUT_OF_STOCK' });
    expect(await lowEvents(item.variantId)).toHaveLength(1);
    // A released reservation and a stock take count as changes too: down to 2 is a new crossing.
    await transact(system.database.db, (tx) => inventory.service.release(tx, crossing, 'cancelled'));
    await inventory.service.setOnHand(item.sku, 5, staff.id);
    const events = await lowEvents(item.variantId);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ available: 2, onHand: 5, reserved: 3 });
    // An item created at or below the threshold is already known to be low: no event for it.
    expect(await lowEvents(short.variantId)).toEqual([]);
  });
});
