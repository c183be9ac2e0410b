import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';

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
  stock_locations: {
    code: string;
    name: string;
    priority: number;
    countries: string[];
    created_at: Generated<Date>;
  };
  inventory_levels: {
    variant_id: string;
    location_code: string;
    on_hand: number;
    reserved: number;
  };
  inventory_reservations: {
    order_id: string;
    variant_id: string;
    location_code: string;
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
    location_code: string;
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

export interface StockLocation {
  code: string;
  name: string;
  priority: number;
  countries: string[];
}

/** One location's share of a variant's stock. */
export interface LocationLevel {
  variantId: string;
  locationCode: string;
  onHand: number;
  reserved: number;
}

/** A change to one location's share, booked in the ledger with its reason. */
export interface LevelMove {
  locationCode: string;
  deltaOnHand: number;
  deltaReserved: number;
}

/** Why stock moved, and for whom: the ledger's columns besides the counts. */
export interface MoveCause {
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

  /** The variants at or below their low-stock threshold, the emptiest first (a scan: staff read it rarely). */
  lowStock(executor: Db, limit: number): Promise<StockLevel[]> {
    return executor
      .withTables<InventoryTables>()
      .selectFrom('inventory_items')
      .select(stockColumns)
      .where(sql<boolean>`on_hand - reserved <= low_stock_threshold`)
      .orderBy(sql`on_hand - reserved`)
      .orderBy('sku')
      .limit(limit)
      .execute();
  },

  /**
   * New items with their stock at the first location. They start low-stock-alerted when they are
   * already low: only a later fall is news.
   */
  async insertItems(
    executor: Db,
    items: Array<{ variantId: string; sku: string; onHand: number }>,
    lowStockThreshold: number,
  ): Promise<void> {
    if (items.length === 0) return;
    await sql`
      with items as (
        insert into inventory_items (variant_id, sku, on_hand, reserved, low_stock_threshold, low_stock_alerted)
        select variant_id, sku, on_hand, 0, ${lowStockThreshold}::int, on_hand <= ${lowStockThreshold}::int
        from unnest(${items.map((item) => item.variantId)}::uuid[], ${items.map((item) => item.sku)}::text[],
                    ${items.map((item) => item.onHand)}::int[]) as i(variant_id, sku, on_hand)
        returning variant_id, on_hand
      )
      insert into inventory_levels (variant_id, location_code, on_hand, reserved)
      select variant_id, (select code from stock_locations order by priority, code limit 1), on_hand, 0
      from items`.execute(inventoryStore.tables(executor));
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
   * Moves a variant's totals, taking its row: every change to a variant's stock starts here, so
   * its locations' rows are only ever changed by the holder of this lock. With `needFree`, the
   * update is conditional on that many units being unreserved: no read-then-write window exists
   * for a concurrent checkout to slip into. Returns the totals after the move, or undefined when
   * the condition failed. The CHECK constraints reject anything that would go negative.
   */
  moveItem(
    executor: Db,
    variantId: string,
    delta: { onHand: number; reserved: number },
    needFree?: number,
  ): Promise<StockLevel | undefined> {
    let query = inventoryStore
      .tables(executor)
      .updateTable('inventory_items')
      .set({
        on_hand: sql`on_hand + ${delta.onHand}::int`,
        reserved: sql`reserved + ${delta.reserved}::int`,
        updated_at: sql`now()`,
      })
      .where('variant_id', '=', variantId);
    if (needFree !== undefined) query = query.where(sql<boolean>`on_hand - reserved >= ${needFree}::int`);
    return query.returning(stockColumns).executeTakeFirst();
  },

  /**
   * Holds `quantity` units of a variant for an order, drawn from its locations in order: those
   * serving `country` first, then by priority, splitting the line where one location has too few.
   * One statement reads the shares, moves them, records the reservations and books the ledger.
   * The caller holds the variant's row (moveItem), so the shares read are current and their sum
   * covers the quantity; the answer says where the units were found. `soldBecause` draws them as sold at
   * once (an order edited after it was paid): off hand, added to the order's committed rows.
   */
  async allocate(
    executor: Db,
    hold: {
      variantId: string;
      quantity: number;
      country?: string;
      orderId: string;
      expiresAt: Date;
      /** Sold at once, booked in the ledger with this reason. */
      soldBecause?: string;
    },
  ): Promise<Array<{ locationCode: string; quantity: number }>> {
    const sold = hold.soldBecause !== undefined;
    const { rows } = await sql<{ locationCode: string; quantity: number }>`
      with free as (
        select l.location_code, l.on_hand - l.reserved as units,
               coalesce(sum(l.on_hand - l.reserved) over (
                 order by (${hold.country ?? null}::text = any(s.countries)) is not true, s.priority, s.code
                 rows between unbounded preceding and 1 preceding), 0) as before
        from inventory_levels l join stock_locations s on s.code = l.location_code
        where l.variant_id = ${hold.variantId}::uuid and l.on_hand > l.reserved
      ), taken as (
        select location_code, least(units, ${hold.quantity}::int - before)::int as quantity
        from free where before < ${hold.quantity}::int
      ), moved as (
        update inventory_levels l
        set reserved = l.reserved + case when ${sold}::boolean then 0 else t.quantity end,
            on_hand = l.on_hand - case when ${sold}::boolean then t.quantity else 0 end
        from taken t
        where l.variant_id = ${hold.variantId}::uuid and l.location_code = t.location_code
        returning l.location_code, t.quantity
      ), held as (
        insert into inventory_reservations as r (order_id, variant_id, location_code, quantity, status, expires_at)
        select ${hold.orderId}::uuid, ${hold.variantId}::uuid, location_code, quantity,
               case when ${sold}::boolean then 'committed' else 'held' end, ${hold.expiresAt}::timestamptz
        from moved
        on conflict (order_id, variant_id, location_code)
          do update set quantity = r.quantity + excluded.quantity, updated_at = now()
      ), logged as (
        insert into inventory_ledger (id, variant_id, sku, location_code, delta_on_hand, delta_reserved, reason, order_id)
        select uuid_v7(), ${hold.variantId}::uuid,
               (select sku from inventory_items where variant_id = ${hold.variantId}::uuid),
               location_code, case when ${sold}::boolean then -quantity else 0 end,
               case when ${sold}::boolean then 0 else quantity end,
               ${hold.soldBecause ?? 'reserved'}, ${hold.orderId}::uuid
        from moved
      )
      select location_code as "locationCode", quantity from moved order by location_code`.execute(
      inventoryStore.tables(executor),
    );
    return rows;
  },

  /**
   * Moves locations' shares of one variant and books each move in the ledger, in one statement. A
   * share not yet recorded is created (stock arriving at a location for the first time). The
   * caller holds the variant's row (moveItem or bySku for update) and moves its totals alike, so
   * no other transaction is changing or creating these shares meanwhile.
   */
  async moveLevels(
    executor: Db,
    variantId: string,
    moves: LevelMove[],
    cause: MoveCause,
  ): Promise<LocationLevel[]> {
    if (moves.length === 0) return [];
    const { rows } = await sql<LocationLevel>`
      with moves as (
        select * from unnest(${moves.map((move) => move.locationCode)}::text[],
                             ${moves.map((move) => move.deltaOnHand)}::int[],
                             ${moves.map((move) => move.deltaReserved)}::int[])
          as m(location_code, delta_on_hand, delta_reserved)
      ), updated as (
        update inventory_levels l
        set on_hand = l.on_hand + m.delta_on_hand, reserved = l.reserved + m.delta_reserved
        from moves m
        where l.variant_id = ${variantId}::uuid and l.location_code = m.location_code
        returning l.variant_id, l.location_code, l.on_hand, l.reserved
      ), added as (
        -- Not an upsert: an insert's CHECKs would judge the delta itself, which may be negative.
        insert into inventory_levels (variant_id, location_code, on_hand, reserved)
        select ${variantId}::uuid, location_code, delta_on_hand, delta_reserved from moves m
        where not exists (
          select 1 from inventory_levels l
          where l.variant_id = ${variantId}::uuid and l.location_code = m.location_code)
        returning variant_id, location_code, on_hand, reserved
      ), moved as (
        select * from updated union all select * from added
      ), logged as (
        insert into inventory_ledger (id, variant_id, sku, location_code, delta_on_hand, delta_reserved, reason, order_id, actor_id)
        select uuid_v7(), ${variantId}::uuid,
               (select sku from inventory_items where variant_id = ${variantId}::uuid),
               location_code, delta_on_hand, delta_reserved, ${cause.reason}::text,
               ${cause.orderId ?? null}::uuid, ${cause.actorId ?? null}::uuid
        from moves
      )
      select variant_id as "variantId", location_code as "locationCode", on_hand as "onHand", reserved
      from moved`.execute(inventoryStore.tables(executor));
    return rows;
  },

  levelsOf(executor: Db, variantIds: readonly string[]): Promise<LocationLevel[]> {
    if (variantIds.length === 0) return Promise.resolve([]);
    return inventoryStore
      .tables(executor)
      .selectFrom('inventory_levels as l')
      .innerJoin('stock_locations as s', 's.code', 'l.location_code')
      .select([
        'l.variant_id as variantId',
        'l.location_code as locationCode',
        'l.on_hand as onHand',
        'l.reserved',
      ])
      .where('l.variant_id', 'in', variantIds)
      .orderBy('s.priority')
      .orderBy('s.code')
      .execute();
  },

  locations(executor: Db): Promise<StockLocation[]> {
    return inventoryStore
      .tables(executor)
      .selectFrom('stock_locations')
      .select(['code', 'name', 'priority', 'countries'])
      .orderBy('priority')
      .orderBy('code')
      .execute();
  },

  /** Answers false when the code is taken. */
  async insertLocation(executor: Db, location: StockLocation): Promise<boolean> {
    const inserted = await inventoryStore
      .tables(executor)
      .insertInto('stock_locations')
      .values(location)
      .onConflict((conflict) => conflict.column('code').doNothing())
      .returning('code')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  updateLocation(executor: Db, code: string, changes: Partial<Omit<StockLocation, 'code'>>) {
    return inventoryStore
      .tables(executor)
      .updateTable('stock_locations')
      .set(changes)
      .where('code', '=', code)
      .returning(['code', 'name', 'priority', 'countries'])
      .executeTakeFirst();
  },

  /**
   * Moves an order's held reservations to `status` and their units with them, in one statement:
   * off the variants' totals and their locations' shares (and off hand too when sold), each move
   * booked in the ledger. Answers the variants' totals as it left them; none when nothing was held
   * (already settled). Each total and share is updated from its latest version, so concurrent
   * moves of the same variants add up; the reservation rows' locks settle each order once.
   */
  async settleReservations(
    executor: Db,
    orderId: string,
    status: 'committed' | 'released',
    cause: MoveCause,
  ): Promise<StockLevel[]> {
    const sold = status === 'committed';
    const { rows } = await sql<StockLevel>`
      with settled as (
        update inventory_reservations set status = ${status}, updated_at = now()
        where order_id = ${orderId}::uuid and status = 'held'
        returning variant_id, location_code, quantity
      ), shares as (
        select variant_id, location_code, sum(quantity)::int as quantity from settled group by variant_id, location_code
      ), totals as (
        select variant_id, sum(quantity)::int as quantity from settled group by variant_id
      ), items as (
        update inventory_items i
        set on_hand = i.on_hand - case when ${sold}::boolean then t.quantity else 0 end,
            reserved = i.reserved - t.quantity, updated_at = now()
        from totals t where i.variant_id = t.variant_id
        returning i.variant_id, i.sku, i.on_hand, i.reserved, i.low_stock_threshold, i.low_stock_alerted
      ), levels as (
        update inventory_levels l
        set on_hand = l.on_hand - case when ${sold}::boolean then s.quantity else 0 end,
            reserved = l.reserved - s.quantity
        from shares s where l.variant_id = s.variant_id and l.location_code = s.location_code
      ), logged as (
        insert into inventory_ledger (id, variant_id, sku, location_code, delta_on_hand, delta_reserved, reason, order_id)
        select uuid_v7(), s.variant_id, i.sku, s.location_code,
               case when ${sold}::boolean then -s.quantity else 0 end, -s.quantity,
               ${cause.reason}::text, ${cause.orderId ?? null}::uuid
        from shares s join items i on i.variant_id = s.variant_id
        order by s.variant_id, s.location_code
      )
      select variant_id as "variantId", sku, on_hand as "onHand", reserved,
             low_stock_threshold as "lowStockThreshold", low_stock_alerted as "lowStockAlerted"
      from items order by variant_id`.execute(inventoryStore.tables(executor));
    return rows;
  },

  /**
   * Takes units off an order's committed rows of one variant (sold units the order no longer
   * needs), deleting the rows left with none. The caller moves the stock back on hand alike.
   */
  async unsell(
    executor: Db,
    orderId: string,
    variantId: string,
    shares: Array<{ locationCode: string; quantity: number }>,
  ): Promise<void> {
    await sql`
      with shares as (
        select * from unnest(${shares.map((share) => share.locationCode)}::text[],
                             ${shares.map((share) => share.quantity)}::int[]) as s(location_code, quantity)
      ), gone as (
        delete from inventory_reservations r using shares s
        where r.order_id = ${orderId}::uuid and r.variant_id = ${variantId}::uuid
          and r.location_code = s.location_code and r.status = 'committed' and r.quantity <= s.quantity
        returning r.location_code
      )
      update inventory_reservations r set quantity = r.quantity - s.quantity, updated_at = now()
      from shares s
      where r.order_id = ${orderId}::uuid and r.variant_id = ${variantId}::uuid
        and r.location_code = s.location_code and r.status = 'committed' and r.quantity > s.quantity`.execute(
      inventoryStore.tables(executor),
    );
  },

  reservationsOf(executor: Db, orderId: string) {
    return inventoryStore
      .tables(executor)
      .selectFrom('inventory_reservations')
      .select([
        'variant_id as variantId',
        'location_code as locationCode',
        'quantity',
        'status',
        'expires_at as expiresAt',
      ])
      .where('order_id', '=', orderId)
      .orderBy('variant_id')
      .orderBy('location_code')
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

  /**
   * The units of an order still away from each location: what it sold there less what came back,
   * per variant, from the ledger. Locations in priority order.
   */
  async unitsOutOf(executor: Db, orderId: string) {
    const { rows } = await sql<{ variantId: string; locationCode: string; quantity: number }>`
      select g.variant_id as "variantId", g.location_code as "locationCode", -sum(g.delta_on_hand)::int as quantity
      from inventory_ledger g join stock_locations s on s.code = g.location_code
      where g.order_id = ${orderId}::uuid
      group by g.variant_id, g.location_code, s.priority
      having sum(g.delta_on_hand) < 0
      order by g.variant_id, s.priority, g.location_code`.execute(inventoryStore.tables(executor));
    return rows;
  },

  ledgerOf(executor: Db, sku: string) {
    return inventoryStore
      .tables(executor)
      .selectFrom('inventory_ledger')
      .select([
        'location_code as locationCode',
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
