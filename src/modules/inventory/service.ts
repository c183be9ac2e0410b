import { afterCommit, type Db, transact } from '../../platform/db/index.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { Broadcast } from '../../platform/pubsub/redis.ts';
import { outOfStock } from './errors.ts';
import { stockLow } from './events.ts';
import { type StockLevel, inventoryStore as store } from './store.ts';

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
}

export interface Stock {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

export interface ReservationLine {
  variantId: string;
  quantity: number;
}

const toStock = (level: StockLevel): Stock => ({
  sku: level.sku,
  onHand: level.onHand,
  reserved: level.reserved,
  available: level.onHand - level.reserved,
});

const units = (count: number) => `${count} ${count === 1 ? 'unit' : 'units'}`;

/**
 * Stock on hand never goes below zero, nor below what is held for orders not yet shipped; the
 * message says which of the two the change would break, in the shop's words.
 */
function refuseBelowReserved(level: { onHand: number; reserved: number }, onHand: number): void {
  if (onHand < 0) {
    throw conflict(
      'INVENTORY_CONFLICT',
      `Stock cannot go below zero: there ${level.onHand === 1 ? 'is' : 'are'} ${units(level.onHand)} on hand`,
    );
  }
  if (onHand < level.reserved) {
    throw conflict(
      'INVENTORY_CONFLICT',
      `${level.reserved} of the ${units(level.onHand)} on hand ${level.reserved === 1 ? 'is' : 'are'} held for orders not yet shipped: at least ${units(level.reserved)} must stay`,
    );
  }
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

    async get(sku: string): Promise<Stock> {
      const level = await store.bySku(db, sku);
      if (!level) throw notFound(`Inventory for SKU ${sku}`);
      return toStock(level);
    },

    /** Sets on hand to an absolute count (a stock take); it cannot go below what is reserved. */
    async setOnHand(sku: string, onHand: number, actorId: string): Promise<Stock> {
      return transact(db, async (tx) => {
        const level = await store.bySku(tx, sku, true);
        if (!level) throw notFound(`Inventory for SKU ${sku}`);
        refuseBelowReserved(level, onHand);
        const updated = await store.move(tx, {
          variantId: level.variantId,
          deltaOnHand: onHand - level.onHand,
          deltaReserved: 0,
          reason: 'stock take',
          actorId,
        });
        changed(tx, [level.variantId]);
        await checkLowStock(tx, [updated!]);
        return toStock(updated!);
      });
    },

    async adjust(sku: string, delta: number, reason: string, actorId: string): Promise<Stock> {
      return transact(db, async (tx) => {
        const level = await store.bySku(tx, sku, true);
        if (!level) throw notFound(`Inventory for SKU ${sku}`);
        refuseBelowReserved(level, level.onHand + delta);
        const updated = await store.move(tx, {
          variantId: level.variantId,
          deltaOnHand: delta,
          deltaReserved: 0,
          reason,
          actorId,
        });
        changed(tx, [level.variantId]);
        await checkLowStock(tx, [updated!]);
        return toStock(updated!);
      });
    },

    ledger: (sku: string) => store.ledgerOf(db, sku),

    reservations: (orderId: string) => store.reservationsOf(db, orderId),

    /**
     * Reserves every line for an order inside the caller's transaction, in variant-id order so two
     * checkouts over the same variants lock them in the same order and cannot deadlock. Any line
     * short of stock throws OUT_OF_STOCK, and the caller's rollback undoes the lines before it.
     */
    async reserve(tx: Db, orderId: string, lines: ReservationLine[], expiresAt: Date): Promise<void> {
      const ordered = normaliseLines(lines);
      const short: string[] = [];
      const levels: StockLevel[] = [];
      for (const line of ordered) {
        const level = await store.move(
          tx,
          {
            variantId: line.variantId,
            deltaOnHand: 0,
            deltaReserved: line.quantity,
            reason: 'reserved',
            orderId,
          },
          { quantity: line.quantity, expiresAt },
        );
        if (level) levels.push(level);
        else short.push(line.variantId);
      }
      if (short.length > 0) throw outOfStock(short);
      changed(
        tx,
        ordered.map((line) => line.variantId),
      );
      await checkLowStock(tx, levels);
    },

    /**
     * Turns an order's held reservations into sales. Returns false when nothing was held (already
     * committed, released, or expired and released by the worker) so the saga can tell.
     */
    async commit(tx: Db, orderId: string): Promise<boolean> {
      const moved = await store.settleReservations(tx, orderId, 'committed');
      for (const line of moved) {
        await store.move(tx, {
          variantId: line.variantId,
          deltaOnHand: -line.quantity,
          deltaReserved: -line.quantity,
          reason: 'sold',
          orderId,
        });
      }
      // Available stock stays what the reservation left (both counts fall): no low-stock check.
      changed(
        tx,
        moved.map((line) => line.variantId),
      );
      return moved.length > 0;
    },

    /** Gives an order's held units back; a no-op when nothing is held (idempotent compensation). */
    async release(tx: Db, orderId: string, reason: string): Promise<number> {
      const moved = await store.settleReservations(tx, orderId, 'released');
      const levels: StockLevel[] = [];
      for (const line of moved) {
        const level = await store.move(tx, {
          variantId: line.variantId,
          deltaOnHand: 0,
          deltaReserved: -line.quantity,
          reason,
          orderId,
        });
        if (level) levels.push(level);
      }
      changed(
        tx,
        moved.map((line) => line.variantId),
      );
      await checkLowStock(tx, levels);
      return moved.length;
    },

    /** Puts sold units back on hand (cancellation after sale, returns). */
    async restock(tx: Db, orderId: string, lines: ReservationLine[], reason: string): Promise<void> {
      const levels: StockLevel[] = [];
      for (const line of normaliseLines(lines)) {
        const level = await store.move(tx, {
          variantId: line.variantId,
          deltaOnHand: line.quantity,
          deltaReserved: 0,
          reason,
          orderId,
        });
        if (level) levels.push(level);
      }
      changed(
        tx,
        lines.map((line) => line.variantId),
      );
      await checkLowStock(tx, levels);
    },

    expiredReservationOrders: (limit = 100) => store.expiredOrders(db, limit),
  };
}

export type InventoryService = ReturnType<typeof createInventoryService>;
