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
   * Moves one item's stock and books the move in the ledger, in one statement (one round trip per
   * line on the checkout path). With `hold`, the update is conditional on `hold.quantity` units
   * being unreserved and also records the reservation: no read-then-write window exists for a
   * concurrent checkout to slip into. Returns the level after the move, or undefined when the
   * condition failed. The CHECK constraints reject anything that would go negative.
   */
  async move(
    executor: Db,
    entry: Omit<LedgerEntry, 'sku'>,
    hold?: { quantity: number; expiresAt: Date },
  ): Promise<StockLevel | undefined> {
    const orderId = entry.orderId ?? null;
    const { rows } = await sql<StockLevel>`
      with level as (
        update inventory_items
        set on_hand = on_hand + ${entry.deltaOnHand}::int,
            reserved = reserved + ${entry.deltaReserved}::int,
            updated_at = now()
        where variant_id = ${entry.variantId}::uuid
          ${hold ? sql`and on_hand - reserved >= ${hold.quantity}::int` : sql``}
        returning variant_id, sku, on_hand, reserved, low_stock_threshold, low_stock_alerted
      ), logged as (
        insert into inventory_ledger (id, variant_id, sku, delta_on_hand, delta_reserved, reason, order_id, actor_id)
        select ${uuidv7()}::uuid, variant_id, sku, ${entry.deltaOnHand}::int, ${entry.deltaReserved}::int,
               ${entry.reason}::text, ${orderId}::uuid, ${entry.actorId ?? null}::uuid
        from level
      )${
        hold
          ? sql`, held as (
        insert into inventory_reservations (order_id, variant_id, quantity, status, expires_at)
        select ${orderId}::uuid, variant_id, ${hold.quantity}::int, 'held', ${hold.expiresAt}::timestamptz
        from level
      )`
          : sql``
      }
      select variant_id as "variantId", sku, on_hand as "onHand", reserved,
             low_stock_threshold as "lowStockThreshold", low_stock_alerted as "lowStockAlerted"
      from level`.execute(inventoryStore.tables(executor));
    return rows[0];
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
