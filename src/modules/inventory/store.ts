import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';

type InventoryTables = {
  inventory_items: {
    variant_id: string;
    sku: string;
    on_hand: number;
    reserved: number;
    low_stock_threshold: Generated<number>;
    low_stock_alerted: Generated<boolean>;
    updated_at: Generated<Date>;
  };
  inventory_reservations: {
    order_id: string;
    variant_id: string;
    quantity: number;
    status: 'held' | 'committed' | 'released';
    expires_at: Date;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  inventory_ledger: {
    id: string;
    variant_id: string;
    sku: string;
    delta_on_hand: number;
    delta_reserved: number;
    reason: string;
    order_id: string | null;
    actor_id: string | null;
    at: Generated<Date>;
  };
};

export interface StockLevel {
  variantId: string;
  sku: string;
  onHand: number;
  reserved: number;
  lowStockThreshold: number;
  /** Whether inventory.low was emitted and stock has not risen above the threshold since. */
  lowStockAlerted: boolean;
}

export interface LedgerEntry {
  variantId: string;
  sku: string;
  deltaOnHand: number;
  deltaReserved: number;
  reason: string;
  orderId?: string | null;
  actorId?: string | null;
}

const stockColumns = [
  'variant_id as variantId',
  'sku',
  'on_hand as onHand',
  'reserved',
  'low_stock_threshold as lowStockThreshold',
  'low_stock_alerted as lowStockAlerted',
] as const;

/** All SQL of the inventory module. Every function takes the executor: a pool or a transaction. */
export const inventoryStore = {
  tables: (executor: Db): Kysely<InventoryTables> => executor.withTables<InventoryTables>(),

  /** New items start low-stock-alerted when they are already low: only a later fall is news. */
  async insertItems(
    executor: Db,
    items: Array<{ variantId: string; sku: string; onHand: number }>,
    lowStockThreshold: number,
  ): Promise<void> {
    if (items.length === 0) return;
    await inventoryStore
      .tables(executor)
      .insertInto('inventory_items')
      .values(
        items.map((item) => ({
          variant_id: item.variantId,
          sku: item.sku,
          on_hand: item.onHand,
          reserved: 0,
          low_stock_threshold: lowStockThreshold,
          low_stock_alerted: item.onHand <= lowStockThreshold,
        })),
      )
      .execute();
  },

  /**
   * Records whether each item is at or below its threshold now, returning the items whose state
   * changed: `lowStockAlerted` true means it just fell to the threshold, false that it rose above.
   * The caller's transaction already holds these rows (it just changed them), so concurrent
   * changes see each other's flag and a crossing is reported by exactly one of them.
   */
  syncLowStock(executor: Db, variantIds: readonly string[]) {
    if (variantIds.length === 0) return Promise.resolve([]);
    const low = sql<boolean>`on_hand - reserved <= low_stock_threshold`;
    return inventoryStore
      .tables(executor)
      .updateTable('inventory_items')
      .set({ low_stock_alerted: low })
      .where('variant_id', 'in', variantIds)
      .where(sql<boolean>`low_stock_alerted is distinct from (${low})`)
      .returning(stockColumns)
      .execute();
  },

  async renameSku(executor: Db, variantId: string, sku: string): Promise<void> {
    await inventoryStore
      .tables(executor)
      .updateTable('inventory_items')
      .set({ sku })
      .where('variant_id', '=', variantId)
      .execute();
  },

  bySku(executor: Db, sku: string, forUpdate = false): Promise<StockLevel | undefined> {
    let query = inventoryStore
      .tables(executor)
      .selectFrom('inventory_items')
      .select(stockColumns)
      .where('sku', '=', sku);
    if (forUpdate) query = query.forUpdate();
    return query.executeTakeFirst();
  },

  byVariants(executor: Db, variantIds: readonly string[]): Promise<StockLevel[]> {
    if (variantIds.length === 0) return Promise.resolve([]);
    return inventoryStore
      .tables(executor)
      .selectFrom('inventory_items')
      .select(stockColumns)
      .where('variant_id', 'in', variantIds)
      .execute();
  },

  /**
   * Reserves `quantity` of one variant in a single conditional update: it succeeds only while
   * enough is unreserved, so no read-then-write window exists for a concurrent checkout to slip in.
   */
  reserveOne(executor: Db, variantId: string, quantity: number) {
    return inventoryStore
      .tables(executor)
      .updateTable('inventory_items')
      .set((eb) => ({ reserved: eb('reserved', '+', quantity), updated_at: sql`now()` }))
      .where('variant_id', '=', variantId)
      .where(sql<boolean>`on_hand - reserved >= ${quantity}`)
      .returning(stockColumns)
      .executeTakeFirst();
  },

  async insertReservations(
    executor: Db,
    orderId: string,
    lines: Array<{ variantId: string; quantity: number }>,
    expiresAt: Date,
  ): Promise<void> {
    await inventoryStore
      .tables(executor)
      .insertInto('inventory_reservations')
      .values(
        lines.map((line) => ({
          order_id: orderId,
          variant_id: line.variantId,
          quantity: line.quantity,
          status: 'held' as const,
          expires_at: expiresAt,
        })),
      )
      .execute();
  },

  /** Moves an order's held reservations to `status`, returning the rows it moved (none if already moved). */
  settleReservations(executor: Db, orderId: string, status: 'committed' | 'released') {
    return inventoryStore
      .tables(executor)
      .updateTable('inventory_reservations')
      .set({ status, updated_at: sql`now()` })
      .where('order_id', '=', orderId)
      .where('status', '=', 'held')
      .returning(['variant_id as variantId', 'quantity'])
      .execute();
  },

  /** Applies deltas to one item; the CHECK constraints reject anything that would go negative. */
  applyDelta(executor: Db, variantId: string, deltaOnHand: number, deltaReserved: number) {
    return inventoryStore
      .tables(executor)
      .updateTable('inventory_items')
      .set((eb) => ({
        on_hand: eb('on_hand', '+', deltaOnHand),
        reserved: eb('reserved', '+', deltaReserved),
        updated_at: sql`now()`,
      }))
      .where('variant_id', '=', variantId)
      .returning(stockColumns)
      .executeTakeFirstOrThrow();
  },

  reservationsOf(executor: Db, orderId: string) {
    return inventoryStore
      .tables(executor)
      .selectFrom('inventory_reservations')
      .select(['variant_id as variantId', 'quantity', 'status', 'expires_at as expiresAt'])
      .where('order_id', '=', orderId)
      .orderBy('variant_id')
      .execute();
  },

  async expiredOrders(executor: Db, limit: number): Promise<string[]> {
    const rows = await inventoryStore
      .tables(executor)
      .selectFrom('inventory_reservations')
      .select('order_id')
      .distinct()
      .where('status', '=', 'held')
      .where('expires_at', '<', sql<Date>`now()`)
      .limit(limit)
      .execute();
    return rows.map((row) => row.order_id);
  },

  async appendLedger(executor: Db, entries: LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await inventoryStore
      .tables(executor)
      .insertInto('inventory_ledger')
      .values(
        entries.map((entry) => ({
          id: uuidv7(),
          variant_id: entry.variantId,
          sku: entry.sku,
          delta_on_hand: entry.deltaOnHand,
          delta_reserved: entry.deltaReserved,
          reason: entry.reason,
          order_id: entry.orderId ?? null,
          actor_id: entry.actorId ?? null,
        })),
      )
      .execute();
  },

  ledgerOf(executor: Db, sku: string) {
    return inventoryStore
      .tables(executor)
      .selectFrom('inventory_ledger')
      .select([
        'delta_on_hand as deltaOnHand',
        'delta_reserved as deltaReserved',
        'reason',
        'order_id as orderId',
        'actor_id as actorId',
        'at',
      ])
      .where('sku', '=', sku)
      .orderBy('at')
      .orderBy('id')
      .execute();
  },
};
