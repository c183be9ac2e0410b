import { afterCommit, type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, notFound } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { Broadcast } from '../../platform/pubsub/redis.ts';
import { outOfStock } from './errors.ts';
import { stockLow } from './events.ts';
import {
  type LocationLevel,
  type MoveCause,
  type StockLevel,
  type StockLocation,
  inventoryStore as store,
} from './store.ts';

export type { StockLocation } from './store.ts';

/** The broadcast channel on which instances tell each other which variants' stock changed. */
const STOCK_CHANNEL = 'inventory.stock';

export interface InventoryDeps {
  db: Db;
  events: Pick<EventBus, 'append' | 'nudge'>;
  /** The threshold new items get (INVENTORY_LOW_THRESHOLD). */
  lowStockThreshold: number;
  /** Other instances' stock changes arrive here, and this one's go out (REDIS_URL set). */
  broadcast?: Broadcast;
  /** A stock change other instances could not be told of (Redis away): they catch up on expiry. */
  reportPublishError: (error: unknown) => void;
  /** Which product each variant belongs to (the catalog), to name low stock. */
  products(
    variantIds: readonly string[],
  ): Promise<Array<{ variantId: string; productId: string; productName: string }>>;
}

/** A variant running out, as the dashboard shows it. */
export interface LowStock {
  sku: string;
  variantId: string;
  productId?: string;
  productName: string;
  onHand: number;
  reserved: number;
  available: number;
  threshold: number;
}

export interface LocationStock {
  code: string;
  onHand: number;
  reserved: number;
  available: number;
}

/** A SKU's totals, which are the sums of its locations' figures. */
export interface Stock {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  locations: LocationStock[];
}

export interface ReservationLine {
  variantId: string;
  quantity: number;
}

const toStock = (level: StockLevel, shares: LocationLevel[]): Stock => ({
  sku: level.sku,
  onHand: level.onHand,
  reserved: level.reserved,
  available: level.onHand - level.reserved,
  locations: shares.map((share) => ({
    code: share.locationCode,
    onHand: share.onHand,
    reserved: share.reserved,
    available: share.onHand - share.reserved,
  })),
});

/** Per variant, its rows in the order given (rows come sorted by variant id). */
function byVariant<Row extends { variantId: string }>(rows: Row[]): Array<[string, Row[]]> {
  return [...Map.groupBy(rows, (row) => row.variantId)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const units = (count: number) => `${count} ${count === 1 ? 'unit' : 'units'}`;

/**
 * Stock on hand never goes below zero, nor below what is held for orders not yet shipped; the
 * message says which of the two the change would break, in the shop's words.
 */
function refuseBelowReserved(
  level: { onHand: number; reserved: number },
  onHand: number,
  place: string,
): void {
  if (onHand < 0) {
    throw conflict(
      'INVENTORY_CONFLICT',
      `Stock cannot go below zero: there ${level.onHand === 1 ? 'is' : 'are'} ${units(level.onHand)} on hand ${place}`,
    );
  }
  if (onHand < level.reserved) {
    throw conflict(
      'INVENTORY_CONFLICT',
      `${level.reserved} of the ${units(level.onHand)} on hand ${place} ${level.reserved === 1 ? 'is' : 'are'} held for orders not yet shipped: at least ${units(level.reserved)} must stay`,
    );
  }
}

/**
 * Spreads `quantity` units over the locations they came from, each taking back at most what it
 * sent; what is left over (more back than went out) goes to the first of them.
 */
function spread(
  quantity: number,
  sentFrom: Array<{ locationCode: string; quantity: number }>,
): Array<{ locationCode: string; quantity: number }> {
  let left = quantity;
  const shares = sentFrom.map((source) => {
    const taken = Math.min(left, source.quantity);
    left -= taken;
    return { locationCode: source.locationCode, quantity: taken };
  });
  if (shares[0]) shares[0].quantity += left;
  return shares.filter((share) => share.quantity > 0);
}

/** A function naming locations by their codes, refusing codes that are not locations. */
function locationNames(locations: StockLocation[], codes: string[]): (code: string) => string {
  for (const code of codes) {
    if (!locations.some((location) => location.code === code)) throw notFound(`Stock location ${code}`);
  }
  return (code) => locations.find((location) => location.code === code)!.name;
}

/** Sums quantities per variant and sorts by variant id: the one lock order every checkout takes. */
function normaliseLines(lines: ReservationLine[]): ReservationLine[] {
  const totals = new Map<string, number>();
  for (const line of lines) totals.set(line.variantId, (totals.get(line.variantId) ?? 0) + line.quantity);
  return [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([variantId, quantity]) => ({ variantId, quantity }));
}

export function createInventoryService(deps: InventoryDeps) {
  const { db, events, broadcast } = deps;
  const listeners = new Set<(variantIds: string[]) => void>();
  const tell = (variantIds: string[]) => {
    for (const listener of listeners) listener(variantIds);
  };
  broadcast?.subscribe(STOCK_CHANNEL, (message, sender) => {
    if (sender !== broadcast.instanceId && Array.isArray(message)) tell(message as string[]);
  });
  /**
   * Called when a change is made, which may be before the caller's transaction commits; readers
   * in this process that cache availability drop their copy now and keep only a short TTL as the
   * backstop. Other instances hear of it once it has committed (they cannot read it before).
   */
  const changed = (executor: Db, variantIds: string[]) => {
    tell(variantIds);
    if (!broadcast || variantIds.length === 0) return;
    afterCommit(executor, () => {
      // Best effort: without the message the other instances' copies expire by their TTL.
      broadcast.publish(STOCK_CHANNEL, [...new Set(variantIds)]).catch(deps.reportPublishError);
    });
  };

  /**
   * After a change to these items in `tx` (`levels` as the change left them): an item whose
   * available stock just fell to its threshold or below gets inventory.low, in the same
   * transaction (so exactly when it commits). `tx` holds the rows, so the flags read are current;
   * most changes cross nothing and cost no further statement.
   */
  async function checkLowStock(tx: Db, levels: StockLevel[]): Promise<void> {
    const flipping = levels.filter(
      (level) => level.onHand - level.reserved <= level.lowStockThreshold !== level.lowStockAlerted,
    );
    if (flipping.length === 0) return;
    const synced = await store.syncLowStock(
      tx,
      flipping.map((level) => level.variantId),
    );
    const crossed = synced.filter((item) => item.lowStockAlerted);
    if (crossed.length === 0) return;
    await events.append(tx, crossed.map(stockLow));
    afterCommit(tx, () => events.nudge());
  }

  /** The location a SKU's unplaced changes go to: the first holding it, else the first there is. */
  async function firstLocation(tx: Db, variantId: string): Promise<string> {
    const [held] = await store.levelsOf(tx, [variantId]);
    return held?.locationCode ?? (await store.locations(tx))[0]!.code;
  }

  /**
   * Sets one location's on hand for a SKU (the SKU's first location when none is named) to what
   * `onHandAfter` makes of its share, moving the totals alike, under the SKU's lock. It cannot go
   * below zero, nor below what that location holds for orders.
   */
  function changeAt(
    sku: string,
    locationCode: string | undefined,
    onHandAfter: (share: { onHand: number; reserved: number }) => number,
    cause: MoveCause,
  ): Promise<Stock> {
    return transact(db, async (tx) => {
      const level = await store.bySku(tx, sku, true);
      if (!level) throw notFound(`Inventory for SKU ${sku}`);
      const code = locationCode ?? (await firstLocation(tx, level.variantId));
      const name = locationNames(await store.locations(tx), [code]);
      const shares = await store.levelsOf(tx, [level.variantId]);
      const share = shares.find((row) => row.locationCode === code) ?? { onHand: 0, reserved: 0 };
      const onHand = onHandAfter(share);
      refuseBelowReserved(share, onHand, `at ${name(code)}`);
      const delta = onHand - share.onHand;
      const updated = (await store.moveItem(tx, level.variantId, { onHand: delta, reserved: 0 }))!;
      await store.moveLevels(
        tx,
        level.variantId,
        [{ locationCode: code, deltaOnHand: delta, deltaReserved: 0 }],
        cause,
      );
      changed(tx, [level.variantId]);
      await checkLowStock(tx, [updated]);
      return toStock(updated, await store.levelsOf(tx, [level.variantId]));
    });
  }

  /**
   * Moves an order's held reservations to `status` and their units off reserved (and off hand
   * when sold) at the locations they were drawn from, in one statement. Answers the totals of
   * the variants moved.
   */
  async function settle(
    tx: Db,
    orderId: string,
    status: 'committed' | 'released',
    cause: MoveCause,
  ): Promise<StockLevel[]> {
    const levels = await store.settleReservations(tx, orderId, status, cause);
    changed(
      tx,
      levels.map((level) => level.variantId),
    );
    return levels;
  }

  return {
    /**
     * Registers a listener told which variants' stock changed (for caches of availability and
     * stock watchers); returns the function that removes it.
     */
    onStockChange(listener: (variantIds: string[]) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    createItems: (executor: Db, items: Array<{ variantId: string; sku: string; onHand: number }>) =>
      store.insertItems(executor, items, deps.lowStockThreshold),

    renameSku: (executor: Db, variantId: string, sku: string) => store.renameSku(executor, variantId, sku),

    /** Available units per variant (on hand minus reserved), for listings and carts. */
    async availability(variantIds: readonly string[], executor: Db = db): Promise<Map<string, number>> {
      const levels = await store.byVariants(executor, [...new Set(variantIds)]);
      return new Map(levels.map((level) => [level.variantId, level.onHand - level.reserved]));
    },

    /** The variant a SKU belongs to, to match onStockChange's variant ids to SKUs. */
    async variantOf(sku: string): Promise<string> {
      const level = await store.bySku(db, sku);
      if (!level) throw notFound(`Inventory for SKU ${sku}`);
      return level.variantId;
    },

    /** Variants at or below their low-stock threshold, the emptiest first, named by their product. */
    async lowStock(limit: number): Promise<LowStock[]> {
      const levels = await store.lowStock(db, limit);
      const names = new Map(
        (await deps.products(levels.map((level) => level.variantId))).map((product) => [
          product.variantId,
          product,
        ]),
      );
      return levels.map((level) => ({
        sku: level.sku,
        variantId: level.variantId,
        productId: names.get(level.variantId)?.productId,
        productName: names.get(level.variantId)?.productName ?? level.sku,
        onHand: level.onHand,
        reserved: level.reserved,
        available: level.onHand - level.reserved,
        threshold: level.lowStockThreshold,
      }));
    },

    async get(sku: string): Promise<Stock> {
      const level = await store.bySku(db, sku);
      if (!level) throw notFound(`Inventory for SKU ${sku}`);
      return toStock(level, await store.levelsOf(db, [level.variantId]));
    },

    /** Sets on hand at the SKU's first location to an absolute count (a stock take). */
    setOnHand: (sku: string, onHand: number, actorId: string) =>
      changeAt(sku, undefined, () => onHand, { reason: 'stock take', actorId }),

    /** Sets on hand at one location (a stock take there); it cannot go below what is reserved there. */
    setLocationOnHand: (sku: string, locationCode: string, onHand: number, actorId: string) =>
      changeAt(sku, locationCode, () => onHand, { reason: 'stock take', actorId }),

    /** Changes on hand at the SKU's first location by a delta (a delivery, breakage). */
    adjust: (sku: string, delta: number, reason: string, actorId: string) =>
      changeAt(sku, undefined, (share) => share.onHand + delta, { reason, actorId }),

    /**
     * Moves free units of a SKU from one location to another: the totals stay, and the ledger
     * books the move out of one and into the other, with who made it.
     */
    async transfer(
      sku: string,
      move: { from: string; to: string; quantity: number },
      actorId: string,
    ): Promise<Stock> {
      if (move.from === move.to)
        throw badRequest('INVALID_TRANSFER', 'A transfer goes between two different locations');
      return transact(db, async (tx) => {
        const level = await store.bySku(tx, sku, true);
        if (!level) throw notFound(`Inventory for SKU ${sku}`);
        const [locations, shares] = [await store.locations(tx), await store.levelsOf(tx, [level.variantId])];
        const name = locationNames(locations, [move.from, move.to]);
        const from = shares.find((share) => share.locationCode === move.from);
        const free = from ? from.onHand - from.reserved : 0;
        if (free < move.quantity) {
          throw conflict(
            'INVENTORY_CONFLICT',
            `Only ${units(free)} at ${name(move.from)} ${free === 1 ? 'is' : 'are'} free to move (the rest is held for orders)`,
          );
        }
        await store.moveLevels(
          tx,
          level.variantId,
          [
            { locationCode: move.from, deltaOnHand: -move.quantity, deltaReserved: 0 },
            { locationCode: move.to, deltaOnHand: move.quantity, deltaReserved: 0 },
          ],
          { reason: `transfer from ${name(move.from)} to ${name(move.to)}`, actorId },
        );
        return toStock(level, await store.levelsOf(tx, [level.variantId]));
      });
    },

    locations: () => store.locations(db),

    async createLocation(location: StockLocation): Promise<StockLocation> {
      const created = { ...location, countries: [...new Set(location.countries)] };
      if (!(await store.insertLocation(db, created))) {
        throw conflict('LOCATION_EXISTS', `A stock location with the code ${location.code} already exists`);
      }
      return created;
    },

    async updateLocation(
      code: string,
      changes: Partial<Omit<StockLocation, 'code'>>,
    ): Promise<StockLocation> {
      const updated = await store.updateLocation(db, code, {
        ...changes,
        ...(changes.countries ? { countries: [...new Set(changes.countries)] } : {}),
      });
      if (!updated) throw notFound('Stock location');
      return updated;
    },

    ledger: (sku: string) => store.ledgerOf(db, sku),

    reservations: (orderId: string) => store.reservationsOf(db, orderId),

    /**
     * Reserves every line for an order inside the caller's transaction, in variant-id order so two
     * checkouts over the same variants lock them in the same order and cannot deadlock. Each line
     * takes its variant's totals first (conditional on enough being free in all locations
     * together), then draws the units from the locations: those serving `country` first, then by
     * priority, split where one has too few. Any line short of stock throws OUT_OF_STOCK, and the
     * caller's rollback undoes the lines before it.
     */
    async reserve(
      tx: Db,
      orderId: string,
      lines: ReservationLine[],
      expiresAt: Date,
      country?: string,
    ): Promise<void> {
      const ordered = normaliseLines(lines);
      const short: string[] = [];
      const levels: StockLevel[] = [];
      for (const line of ordered) {
        const level = await store.moveItem(
          tx,
          line.variantId,
          { onHand: 0, reserved: line.quantity },
          line.quantity,
        );
        if (!level) short.push(line.variantId);
        // Once a line is short the transaction is rolled back: the rest are only checked.
        if (!level || short.length > 0) continue;
        levels.push(level);
        const drawn = await store.allocate(tx, { ...line, country, orderId, expiresAt });
        const found = drawn.reduce((sum, share) => sum + share.quantity, 0);
        if (found !== line.quantity) {
          throw new Error(
            `Variant ${line.variantId}: its locations hold ${found} of the ${line.quantity} units its totals had free`,
          );
        }
      }
      if (short.length > 0) throw outOfStock(short);
      changed(
        tx,
        ordered.map((line) => line.variantId),
      );
      await checkLowStock(tx, levels);
    },

    /**
     * Changes what a paid, unshipped order has bought (an order edit), variant by variant in id
     * order as every checkout locks them. More of a variant is sold at once, drawn as a checkout
     * draws (conditional on enough being free, OUT_OF_STOCK if not); fewer goes back on hand at
     * the locations it was sold from, the least preferred first, and off the order's rows, so its
     * shipment later leaves from where its units are.
     */
    async changeSold(
      tx: Db,
      orderId: string,
      changes: Array<{ variantId: string; delta: number }>,
      country: string,
    ): Promise<void> {
      const cause = { reason: 'order edited', orderId };
      const ordered = changes
        .filter((change) => change.delta !== 0)
        .sort((a, b) => (a.variantId < b.variantId ? -1 : a.variantId > b.variantId ? 1 : 0));
      const short: string[] = [];
      const levels: StockLevel[] = [];
      const sold = byVariant(
        (await store.reservationsOf(tx, orderId)).filter((row) => row.status === 'committed'),
      );
      const priority = new Map(
        (await store.locations(tx)).map((location) => [location.code, location.priority]),
      );
      for (const { variantId, delta } of ordered) {
        if (delta > 0) {
          const level = await store.moveItem(tx, variantId, { onHand: -delta, reserved: 0 }, delta);
          if (!level) short.push(variantId);
          if (!level || short.length > 0) continue;
          levels.push(level);
          await store.allocate(tx, {
            variantId,
            quantity: delta,
            country,
            orderId,
            expiresAt: new Date(),
            soldBecause: cause.reason,
          });
          continue;
        }
        const rows = sold.find(([id]) => id === variantId)?.[1] ?? [];
        const leastPreferredFirst = rows.toSorted(
          (a, b) => (priority.get(b.locationCode) ?? 0) - (priority.get(a.locationCode) ?? 0),
        );
        const shares = spread(-delta, leastPreferredFirst);
        await store.unsell(tx, orderId, variantId, shares);
        const level = await store.moveItem(tx, variantId, { onHand: -delta, reserved: 0 });
        await store.moveLevels(
          tx,
          variantId,
          shares.map((share) => ({
            locationCode: share.locationCode,
            deltaOnHand: share.quantity,
            deltaReserved: 0,
          })),
          cause,
        );
        if (level) levels.push(level);
      }
      if (short.length > 0) throw outOfStock(short);
      changed(
        tx,
        ordered.map((change) => change.variantId),
      );
      await checkLowStock(tx, levels);
    },

    /**
     * Turns an order's held reservations into sales, at the locations they were drawn from.
     * Returns false when nothing was held (already committed, released, or expired and released by
     * the worker) so the saga can tell.
     */
    async commit(tx: Db, orderId: string): Promise<boolean> {
      const settled = await settle(tx, orderId, 'committed', { reason: 'sold', orderId });
      // Available stock stays what the reservation left (both counts fall): no low-stock check.
      return settled.length > 0;
    },

    /** Gives an order's held units back; a no-op when nothing is held (idempotent compensation). */
    async release(tx: Db, orderId: string, reason: string): Promise<number> {
      const settled = await settle(tx, orderId, 'released', { reason, orderId });
      await checkLowStock(tx, settled);
      return settled.length;
    },

    /**
     * Puts sold units back on hand (cancellation after sale, returns): at the locations the order's
     * units left from (first by priority), until each has back what it sent, then at the first of them.
     */
    async restock(tx: Db, orderId: string, lines: ReservationLine[], reason: string): Promise<void> {
      const out = byVariant(await store.unitsOutOf(tx, orderId));
      const levels: StockLevel[] = [];
      for (const line of normaliseLines(lines)) {
        const sentFrom = out.find(([variantId]) => variantId === line.variantId)?.[1] ?? [];
        const moves = spread(line.quantity, sentFrom).map((share) => ({
          locationCode: share.locationCode,
          deltaOnHand: share.quantity,
          deltaReserved: 0,
        }));
        const level = await store.moveItem(tx, line.variantId, { onHand: line.quantity, reserved: 0 });
        if (!level) continue;
        const into =
          moves.length > 0
            ? moves
            : [
                {
                  locationCode: await firstLocation(tx, line.variantId),
                  deltaOnHand: line.quantity,
                  deltaReserved: 0,
                },
              ];
        await store.moveLevels(tx, line.variantId, into, { reason, orderId });
        levels.push(level);
      }
      changed(
        tx,
        lines.map((line) => line.variantId),
      );
      await checkLowStock(tx, levels);
    },

    /** Where an order's units were sold from: per variant, the locations and their units. */
    async soldFrom(
      orderId: string,
      executor: Db = db,
    ): Promise<Map<string, Array<{ locationCode: string; quantity: number }>>> {
      const reservations = await store.reservationsOf(executor, orderId);
      return new Map(
        byVariant(reservations.filter((row) => row.status === 'committed')).map(([variantId, rows]) => [
          variantId,
          rows.map((row) => ({ locationCode: row.locationCode, quantity: row.quantity })),
        ]),
      );
    },

    expiredReservationOrders: (limit = 100) => store.expiredOrders(db, limit),
  };
}

export type InventoryService = ReturnType<typeof createInventoryService>;
