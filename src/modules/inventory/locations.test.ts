import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';
import { transact } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { InventoryModule, Stock } from './index.ts';

/** Stock kept in several places: the never-oversell proof extended to the sum of the locations. */
describe.each(dbKinds)('stock locations on %s', (kind) => {
  let system: TestSystem;
  let inventory: InventoryModule;
  let staff: Awaited<ReturnType<typeof signIn>>;
  beforeAll(async () => {
    system = await createTestSystem(kind);
    inventory = moduleOf(system, 'inventory');
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object) => {
    const response = await system.app.inject({ method, url, headers: staff.headers, payload });
    return { status: response.statusCode, body: response.json() };
  };

  /** Two locations of its own per test (codes unique within the file's database). */
  async function twoLocations() {
    const suffix = uuidv7().slice(-6);
    const berlin = {
      code: `berlin-${suffix}`,
      name: `Berlin ${suffix}`,
      priority: 5,
      countries: ['DE', 'AT'],
    };
    const paris = { code: `paris-${suffix}`, name: `Paris ${suffix}`, priority: 9, countries: ['FR'] };
    for (const location of [berlin, paris]) {
      expect(await call('POST', '/v1/stock-locations', location)).toEqual({ status: 201, body: location });
    }
    return { berlin: berlin.code, paris: paris.code };
  }

  /** A SKU whose stock is `onHand` per location code ('main' is the first location). */
  async function stocked(onHand: Record<string, number>) {
    const item = { variantId: uuidv7(), sku: `LOC-${uuidv7().slice(-12)}`, onHand: 0 };
    await inventory.service.createItems(system.database.db, [item]);
    for (const [code, units] of Object.entries(onHand)) {
      expect(
        (await call('PUT', `/v1/inventory/${item.sku}/locations/${code}`, { onHand: units })).status,
      ).toBe(200);
    }
    return item;
  }

  const reserve = (variantId: string, quantity: number, country?: string, orderId = uuidv7()) =>
    transact(system.database.db, (tx) =>
      inventory.service.reserve(
        tx,
        orderId,
        [{ variantId, quantity }],
        new Date(Date.now() + 60_000),
        country,
      ),
    ).then(() => orderId);

  const at = (stock: Stock, code: string) => stock.locations.find((location) => location.code === code);

  /** The totals are the sums of the locations, and no location holds more than it has or below zero. */
  function expectConsistent(stock: Stock) {
    const sum = (pick: (location: Stock['locations'][number]) => number) =>
      stock.locations.reduce((total, location) => total + pick(location), 0);
    expect({ onHand: stock.onHand, reserved: stock.reserved }).toEqual({
      onHand: sum((location) => location.onHand),
      reserved: sum((location) => location.reserved),
    });
    for (const location of stock.locations) {
      expect(location.reserved).toBeGreaterThanOrEqual(0);
      expect(location.reserved).toBeLessThanOrEqual(location.onHand);
    }
  }

  it('lists, adds and changes locations; refuses a taken code, a bad code and an empty change', async () => {
    const { berlin } = await twoLocations();
    const listed = await call('GET', '/v1/stock-locations');
    expect(listed.body.items[0]).toEqual({
      code: 'main',
      name: 'Main warehouse',
      priority: 1,
      countries: [],
    });
    expect(listed.body.items.map((location: { code: string }) => location.code)).toContain(berlin);
    const taken = await call('POST', '/v1/stock-locations', { code: berlin, name: 'Again', priority: 3 });
    expect(taken).toMatchObject({
      status: 409,
      body: { code: 'LOCATION_EXISTS', detail: `A stock location with the code ${berlin} already exists` },
    });
    expect(
      (await call('POST', '/v1/stock-locations', { code: 'Not A Code', name: 'x', priority: 1 })).status,
    ).toBe(400);
    expect(
      await call('PATCH', `/v1/stock-locations/${berlin}`, { priority: 4, countries: ['DE', 'DE'] }),
    ).toMatchObject({ status: 200, body: { code: berlin, priority: 4, countries: ['DE'] } });
    expect((await call('PATCH', `/v1/stock-locations/${berlin}`, {})).status).toBe(400);
    expect((await call('PATCH', '/v1/stock-locations/nowhere', { priority: 2 })).status).toBe(404);
  });

  it('shows each location and totals that are their sums; a stock take at one location is audited there', async () => {
    const { berlin, paris } = await twoLocations();
    const item = await stocked({ main: 2, [berlin]: 5, [paris]: 1 });
    const read = await call('GET', `/v1/inventory/${item.sku}`);
    expect(read.body).toEqual({
      sku: item.sku,
      onHand: 8,
      reserved: 0,
      available: 8,
      locations: [
        { code: 'main', onHand: 2, reserved: 0, available: 2 },
        { code: berlin, onHand: 5, reserved: 0, available: 5 },
        { code: paris, onHand: 1, reserved: 0, available: 1 },
      ],
    });
    const ledger = await inventory.service.ledger(item.sku);
    expect(ledger.map((entry) => [entry.locationCode, entry.deltaOnHand, entry.actorId])).toEqual([
      ['main', 2, staff.id],
      [berlin, 5, staff.id],
      [paris, 1, staff.id],
    ]);
    expect((await call('PUT', `/v1/inventory/${item.sku}/locations/nowhere`, { onHand: 1 })).status).toBe(
      404,
    );
  });

  it('draws from the location serving the destination first, then by priority, splitting a line', async () => {
    const { berlin, paris } = await twoLocations();
    const item = await stocked({ main: 3, [berlin]: 2, [paris]: 4 });
    // To Germany: Berlin's 2 first, then main (priority 1) before Paris (9).
    const german = await reserve(item.variantId, 4, 'DE');
    expect(await inventory.service.reservations(german)).toMatchObject([
      { locationCode: berlin, quantity: 2, status: 'held' },
      { locationCode: 'main', quantity: 2, status: 'held' },
    ]);
    // To France: Paris serves it.
    const french = await reserve(item.variantId, 3, 'FR');
    expect(await inventory.service.reservations(french)).toMatchObject([
      { locationCode: paris, quantity: 3 },
    ]);
    // Elsewhere: by priority, main's last unit, then Paris.
    const other = await reserve(item.variantId, 2, 'US');
    expect(await inventory.service.reservations(other)).toMatchObject([
      { locationCode: 'main', quantity: 1 },
      { locationCode: paris, quantity: 1 },
    ]);
    await expect(reserve(item.variantId, 1, 'DE')).rejects.toMatchObject({ code: 'OUT_OF_STOCK' });
    const stock = await inventory.service.get(item.sku);
    expect(stock).toMatchObject({ onHand: 9, reserved: 9, available: 0 });
    expectConsistent(stock);

    // Sold where it was held; a release gives back to the same places.
    await transact(system.database.db, (tx) => inventory.service.commit(tx, german));
    await transact(system.database.db, (tx) => inventory.service.release(tx, french, 'cancelled'));
    const after = await inventory.service.get(item.sku);
    expect(at(after, berlin)).toEqual({ code: berlin, onHand: 0, reserved: 0, available: 0 });
    expect(at(after, 'main')).toEqual({ code: 'main', onHand: 1, reserved: 1, available: 0 });
    expect(at(after, paris)).toEqual({ code: paris, onHand: 4, reserved: 1, available: 3 });
    expectConsistent(after);
    expect(await inventory.service.soldFrom(german)).toEqual(
      new Map([
        [
          item.variantId,
          [
            { locationCode: berlin, quantity: 2 },
            { locationCode: 'main', quantity: 2 },
          ],
        ],
      ]),
    );

    // Returned units go back where they left from (first by priority), each taking back what it sent.
    await transact(system.database.db, (tx) =>
      inventory.service.restock(tx, german, [{ variantId: item.variantId, quantity: 3 }], 'returned'),
    );
    const returned = await inventory.service.get(item.sku);
    expect(at(returned, 'main')?.onHand).toBe(3);
    expect(at(returned, berlin)?.onHand).toBe(1);
    expectConsistent(returned);
  });

  it('never sells beyond the sum of the locations: 60 racing buyers for 10 units in three places', async () => {
    const { berlin, paris } = await twoLocations();
    const item = await stocked({ main: 4, [berlin]: 3, [paris]: 3 });
    const countries = ['DE', 'FR', 'US', 'AT'];
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, index) =>
        reserve(item.variantId, 1 + (index % 2), countries[index % countries.length]),
      ),
    );
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason.code).toBe('OUT_OF_STOCK');
    }
    const held = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const stock = await inventory.service.get(item.sku);
    expect(stock.reserved).toBeLessThanOrEqual(10);
    // Every unit is taken: with one- and two-unit orders racing, at most one unit can stay free.
    expect(stock.available).toBeLessThanOrEqual(1);
    expectConsistent(stock);

    // Half sold, half released: nothing stays held anywhere, and on hand fell by what was sold.
    let sold = 0;
    for (const [index, orderId] of held.entries()) {
      const units = (await inventory.service.reservations(orderId)).reduce(
        (sum, row) => sum + row.quantity,
        0,
      );
      await transact(system.database.db, async (tx) => {
        if (index % 2 === 0) await inventory.service.commit(tx, orderId);
        else await inventory.service.release(tx, orderId, 'cancelled');
      });
      if (index % 2 === 0) sold += units;
    }
    const settled = await inventory.service.get(item.sku);
    expect(settled).toMatchObject({ onHand: 10 - sold, reserved: 0 });
    expectConsistent(settled);
    for (const orderId of held) {
      for (const row of await inventory.service.reservations(orderId)) expect(row.status).not.toBe('held');
    }
  });

  it('transfers free units between locations, audited; held units and bad transfers are refused', async () => {
    const { berlin, paris } = await twoLocations();
    const item = await stocked({ [berlin]: 5 });
    await reserve(item.variantId, 2, 'DE');
    const moved = await call('POST', `/v1/inventory/${item.sku}/transfers`, {
      from: berlin,
      to: paris,
      quantity: 3,
    });
    expect(moved.status).toBe(201);
    expect(moved.body).toMatchObject({ onHand: 5, reserved: 2, available: 3 });
    expect(at(moved.body, berlin)).toEqual({ code: berlin, onHand: 2, reserved: 2, available: 0 });
    expect(at(moved.body, paris)).toEqual({ code: paris, onHand: 3, reserved: 0, available: 3 });
    const ledger = (await inventory.service.ledger(item.sku)).filter((entry) =>
      entry.reason.startsWith('transfer'),
    );
    expect(ledger.map((entry) => [entry.locationCode, entry.deltaOnHand, entry.actorId]).sort()).toEqual(
      [
        [berlin, -3, staff.id],
        [paris, 3, staff.id],
      ].sort(),
    );
    expect(ledger[0]!.reason).toMatch(/^transfer from Berlin \w+ to Paris \w+$/);

    const tooMany = await call('POST', `/v1/inventory/${item.sku}/transfers`, {
      from: berlin,
      to: paris,
      quantity: 1,
    });
    expect(tooMany).toMatchObject({ status: 409, body: { code: 'INVENTORY_CONFLICT' } });
    expect(tooMany.body.detail).toMatch(/^Only 0 units at Berlin \w+ are free to move/);
    const same = await call('POST', `/v1/inventory/${item.sku}/transfers`, {
      from: paris,
      to: paris,
      quantity: 1,
    });
    expect(same).toMatchObject({ status: 400, body: { code: 'INVALID_TRANSFER' } });
    const nowhere = await call('POST', `/v1/inventory/${item.sku}/transfers`, {
      from: paris,
      to: 'nowhere',
      quantity: 1,
    });
    expect(nowhere.status).toBe(404);
    // A location's stock take cannot go below what it holds for orders.
    const below = await call('PUT', `/v1/inventory/${item.sku}/locations/${berlin}`, { onHand: 1 });
    expect(below).toMatchObject({ status: 409, body: { code: 'INVENTORY_CONFLICT' } });
    expectConsistent((await call('GET', `/v1/inventory/${item.sku}`)).body);
  });

  it('races transfers, stock takes and checkouts over one SKU without breaking a location', async () => {
    const { berlin, paris } = await twoLocations();
    const item = await stocked({ main: 6, [berlin]: 6, [paris]: 6 });
    const codes = ['main', berlin, paris];
    const work = Array.from({ length: 45 }, (_, index) => {
      const from = codes[index % 3]!;
      const to = codes[(index + 1) % 3]!;
      if (index % 3 === 0)
        return call('POST', `/v1/inventory/${item.sku}/transfers`, { from, to, quantity: 2 });
      if (index % 9 === 1) return call('PUT', `/v1/inventory/${item.sku}/locations/${to}`, { onHand: 4 });
      return reserve(item.variantId, 1, index % 2 ? 'DE' : 'FR');
    });
    const results = await Promise.allSettled(work);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason.code).toBe('OUT_OF_STOCK');
      else if (typeof result.value === 'object') expect([200, 201, 409]).toContain(result.value.status);
    }
    expectConsistent(await inventory.service.get(item.sku));
  });
});
