import { type ColumnType, type Generated, type Kysely, sql } from 'kysely';
import { type Db, pageOf } from '../../platform/db/index.ts';

type FulfillmentTables = {
  fulfillments: {
    id: string;
    order_id: string;
    carrier: string;
    tracking_number: string;
    created_by: string;
    created_at: Generated<Date>;
    capture_state: 'capturing' | null;
    capture_amount: number | null;
    capture_final: boolean | null;
  };
  fulfillment_items: {
    fulfillment_id: string;
    order_item_id: string;
    quantity: number;
    sources: ColumnType<ShipmentSource[], string, string>;
  };
  returns: {
    id: string;
    order_id: string;
    user_id: string;
    status: 'requested' | 'receiving' | 'received';
    reason: string;
    refund_amount: number | null;
    credit_amount: number | null;
    replacement_order_id: string | null;
    created_at: Generated<Date>;
    received_at: Date | null;
  };
  return_items: { return_id: string; order_item_id: string; quantity: number };
};

/** Units of a shipped item leaving from one stock location. */
export interface ShipmentSource {
  location: string;
  quantity: number;
}

export interface ItemQuantity {
  orderItemId: string;
  quantity: number;
}

export interface ReturnRow {
  id: string;
  orderId: string;
  userId: string;
  status: 'requested' | 'receiving' | 'received';
  reason: string;
  refundAmount: number | null;
  /** An exchange: the part of the refund that is store credit paying the replacement order. */
  creditAmount: number | null;
  /** An exchange: the order that ships the replacements. */
  replacementOrderId: string | null;
  createdAt: Date;
  receivedAt: Date | null;
}

const tables = (executor: Db): Kysely<FulfillmentTables> => executor.withTables<FulfillmentTables>();

const returnColumns = [
  'id',
  'order_id as orderId',
  'user_id as userId',
  'status',
  'reason',
  'refund_amount as refundAmount',
  'credit_amount as creditAmount',
  'replacement_order_id as replacementOrderId',
  'created_at as createdAt',
  'received_at as receivedAt',
] as const;

function sumByItem(rows: Array<{ orderItemId: string; quantity: number }>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.orderItemId, (totals.get(row.orderItemId) ?? 0) + row.quantity);
  return totals;
}

export const fulfillmentStore = {
  /** A shipment, shipped at once or, with `captureAmount`, `capturing` until its money is taken. */
  async insertFulfillment(
    executor: Db,
    fulfillment: {
      id: string;
      orderId: string;
      carrier: string;
      trackingNumber: string;
      createdBy: string;
      /** What the shipment captures, and whether it is the last. */
      capture?: { amount: number; final: boolean };
    },
    items: Array<ItemQuantity & { from: ShipmentSource[] }>,
  ) {
    const row = await tables(executor)
      .insertInto('fulfillments')
      .values({
        id: fulfillment.id,
        order_id: fulfillment.orderId,
        carrier: fulfillment.carrier,
        tracking_number: fulfillment.trackingNumber,
        created_by: fulfillment.createdBy,
        capture_state: fulfillment.capture ? 'capturing' : null,
        capture_amount: fulfillment.capture?.amount ?? null,
        capture_final: fulfillment.capture?.final ?? null,
      })
      .returning('created_at')
      .executeTakeFirstOrThrow();
    await tables(executor)
      .insertInto('fulfillment_items')
      .values(
        items.map((item) => ({
          fulfillment_id: fulfillment.id,
          order_item_id: item.orderItemId,
          quantity: item.quantity,
          sources: JSON.stringify(item.from),
        })),
      )
      .execute();
    return row.created_at;
  },

  /** Units shipped per order item; a shipment whose capture is in flight has not shipped yet. */
  async shippedByItem(executor: Db, orderId: string): Promise<Map<string, number>> {
    const rows = await tables(executor)
      .selectFrom('fulfillment_items')
      .innerJoin('fulfillments', 'fulfillments.id', 'fulfillment_items.fulfillment_id')
      .select(['fulfillment_items.order_item_id as orderItemId', 'fulfillment_items.quantity'])
      .where('fulfillments.order_id', '=', orderId)
      .where('fulfillments.capture_state', 'is', null)
      .execute();
    return sumByItem(rows);
  },

  /** A shipment whose capture is in flight, with what it captures and its items. */
  async capturing(executor: Db, fulfillmentId: string) {
    const row = await tables(executor)
      .selectFrom('fulfillments')
      .select([
        'id',
        'order_id as orderId',
        'carrier',
        'tracking_number as trackingNumber',
        'created_at as createdAt',
        'capture_amount as captureAmount',
        'capture_final as captureFinal',
      ])
      .where('id', '=', fulfillmentId)
      .where('capture_state', '=', 'capturing')
      .executeTakeFirst();
    if (!row) return undefined;
    const items = await tables(executor)
      .selectFrom('fulfillment_items')
      .select(['order_item_id as orderItemId', 'quantity', 'sources as from'])
      .where('fulfillment_id', '=', fulfillmentId)
      .orderBy('order_item_id')
      .execute();
    return {
      ...row,
      captureAmount: Number(row.captureAmount),
      captureFinal: row.captureFinal === true,
      items,
    };
  },

  /** Shipments still capturing after `olderThanMs`: their request died or gave up; recovery finishes them. */
  async stalledCaptures(executor: Db, olderThanMs: number, limit: number): Promise<string[]> {
    const rows = await tables(executor)
      .selectFrom('fulfillments')
      .select('id')
      .where('capture_state', '=', 'capturing')
      .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
      .orderBy('created_at')
      .limit(limit)
      .execute();
    return rows.map((row) => row.id);
  },

  /** The money is taken: the shipment has shipped. False when it was no longer capturing. */
  async markShipped(executor: Db, fulfillmentId: string): Promise<boolean> {
    const moved = await tables(executor)
      .updateTable('fulfillments')
      .set({ capture_state: null })
      .where('id', '=', fulfillmentId)
      .where('capture_state', '=', 'capturing')
      .executeTakeFirst();
    return moved.numUpdatedRows > 0n;
  },

  /** The provider refused the capture: the shipment never happened. */
  async dropCapturing(executor: Db, fulfillmentId: string): Promise<boolean> {
    const dropped = await tables(executor)
      .deleteFrom('fulfillments')
      .where('id', '=', fulfillmentId)
      .where('capture_state', '=', 'capturing')
      .executeTakeFirst();
    return dropped.numDeletedRows > 0n;
  },

  /** Units already asked back or received, per order item: a return cannot exceed what shipped. */
  async returnedByItem(
    executor: Db,
    orderId: string,
    statuses: ReturnRow['status'][],
  ): Promise<Map<string, number>> {
    const rows = await tables(executor)
      .selectFrom('return_items')
      .innerJoin('returns', 'returns.id', 'return_items.return_id')
      .select(['return_items.order_item_id as orderItemId', 'return_items.quantity'])
      .where('returns.order_id', '=', orderId)
      .where('returns.status', 'in', statuses)
      .execute();
    return sumByItem(rows);
  },

  async insertReturn(
    executor: Db,
    row: { id: string; orderId: string; userId: string; reason: string },
    items: ItemQuantity[],
  ) {
    const created = await tables(executor)
      .insertInto('returns')
      .values({
        id: row.id,
        order_id: row.orderId,
        user_id: row.userId,
        status: 'requested',
        reason: row.reason,
        refund_amount: null,
        credit_amount: null,
        replacement_order_id: null,
        received_at: null,
      })
      .returning(returnColumns)
      .executeTakeFirstOrThrow();
    await tables(executor)
      .insertInto('return_items')
      .values(
        items.map((item) => ({
          return_id: row.id,
          order_item_id: item.orderItemId,
          quantity: item.quantity,
        })),
      )
      .execute();
    return created;
  },

  /** The fulfillments of one order, oldest first, each with its items. */
  async fulfillmentsOf(executor: Db, orderId: string) {
    const [rows, items] = await Promise.all([
      tables(executor)
        .selectFrom('fulfillments')
        .select(['id', 'carrier', 'tracking_number as trackingNumber', 'created_at as createdAt'])
        .where('order_id', '=', orderId)
        .where('capture_state', 'is', null)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
      tables(executor)
        .selectFrom('fulfillment_items')
        .innerJoin('fulfillments', 'fulfillments.id', 'fulfillment_items.fulfillment_id')
        .select([
          'fulfillment_items.fulfillment_id as fulfillmentId',
          'fulfillment_items.order_item_id as orderItemId',
          'fulfillment_items.quantity',
          'fulfillment_items.sources as from',
        ])
        .where('fulfillments.order_id', '=', orderId)
        .orderBy('fulfillment_items.order_item_id')
        .execute(),
    ]);
    return rows.map((row) => ({
      ...row,
      items: items
        .filter((item) => item.fulfillmentId === row.id)
        .map(({ orderItemId, quantity, from }) => ({ orderItemId, quantity, from })),
    }));
  },

  /** The returns of one order, oldest first. */
  returnsOf(executor: Db, orderId: string): Promise<ReturnRow[]> {
    return tables(executor)
      .selectFrom('returns')
      .select(returnColumns)
      .where('order_id', '=', orderId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  },

  returnById(executor: Db, id: string): Promise<ReturnRow | undefined> {
    return tables(executor)
      .selectFrom('returns')
      .select(returnColumns)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  /** Returns newest first, optionally in one status, with the total count. */
  async listReturns(
    executor: Db,
    filter: { status?: ReturnRow['status'] },
    page: { offset: number; limit: number },
  ): Promise<{ rows: ReturnRow[]; total: number }> {
    let query = tables(executor).selectFrom('returns');
    if (filter.status) query = query.where('status', '=', filter.status);
    return pageOf(query, (filtered) => filtered.select(returnColumns), page);
  },

  /** The items of several returns, by return id. */
  async itemsOfReturns(executor: Db, returnIds: readonly string[]): Promise<Map<string, ItemQuantity[]>> {
    if (returnIds.length === 0) return new Map();
    const rows = await tables(executor)
      .selectFrom('return_items')
      .select(['return_id as returnId', 'order_item_id as orderItemId', 'quantity'])
      .where('return_id', 'in', [...returnIds])
      .orderBy('return_id')
      .orderBy('order_item_id')
      .execute();
    const byReturn = new Map<string, ItemQuantity[]>();
    for (const { returnId, ...item } of rows)
      byReturn.set(returnId, [...(byReturn.get(returnId) ?? []), item]);
    return byReturn;
  },

  returnItems(executor: Db, returnId: string): Promise<ItemQuantity[]> {
    return tables(executor)
      .selectFrom('return_items')
      .select(['order_item_id as orderItemId', 'quantity'])
      .where('return_id', '=', returnId)
      .orderBy('order_item_id')
      .execute();
  },

  /** requested → receiving with the refund fixed; false when it had already moved on. */
  async startReceiving(
    executor: Db,
    id: string,
    refundAmount: number,
    creditAmount: number | null = null,
  ): Promise<boolean> {
    const result = await tables(executor)
      .updateTable('returns')
      .set({ status: 'receiving', refund_amount: refundAmount, credit_amount: creditAmount })
      .where('id', '=', id)
      .where('status', '=', 'requested')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  async setReplacement(executor: Db, id: string, orderId: string): Promise<void> {
    await tables(executor)
      .updateTable('returns')
      .set({ replacement_order_id: orderId })
      .where('id', '=', id)
      .execute();
  },

  async finishReceiving(executor: Db, id: string): Promise<boolean> {
    const result = await tables(executor)
      .updateTable('returns')
      .set({ status: 'received', received_at: sql`now()` })
      .where('id', '=', id)
      .where('status', '=', 'receiving')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },
};
