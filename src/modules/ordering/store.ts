import { type ColumnType, type Generated, type Kysely, sql } from 'kysely';
import { type Db, pageOf } from '../../platform/db/index.ts';
import type { EventsWrite } from '../../platform/events/index.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { PricedDiscount, ShippingMethod } from '../pricing/index.ts';
import type { OrderStatus } from './state.ts';

/** Where the checkout saga is: a step to run, a compensation to run, or done (see saga.ts). */
export type SagaStep =
  | 'authorize'
  | 'capture'
  | 'undo_capture'
  | 'undo_authorize'
  | 'undo_checkout'
  | 'cancel_refund'
  | 'done';

/** Where an order was placed from: a shopper's cart, a staff draft, or an exchange of a return. */
export type OrderSource = 'cart' | 'draft' | 'exchange';

/** A staff refund: requested (reserved, the provider not yet answered), refunded, or rejected. */
export type RefundStatus = 'requested' | 'refunded' | 'rejected';

export interface RefundRow {
  id: string;
  orderId: string;
  amount: number;
  reason: string;
  status: RefundStatus;
  issuedBy: string;
  createdAt: Date;
}

const refundColumns = [
  'id',
  'order_id as orderId',
  'amount',
  'reason',
  'status',
  'issued_by as issuedBy',
  'created_at as createdAt',
] as const;

type OrderingTables = {
  orders: {
    id: string;
    user_id: string;
    status: OrderStatus;
    currency: string;
    subtotal_amount: number;
    discount_amount: Generated<number>;
    shipping_amount: Generated<number>;
    tax_amount: Generated<number>;
    shipping_tax_amount: Generated<number>;
    tax_inclusive: Generated<boolean>;
    total_amount: number;
    refunded_amount: Generated<number>;
    promotion_code: string | null;
    discounts: unknown;
    shipping_method: unknown;
    shipping_address: unknown;
    payment_token: string | null;
    balance_amount: Generated<number>;
    draft_order_id: string | null;
    source: Generated<OrderSource>;
    paid_offline: Generated<boolean>;
    awaiting_action: Generated<boolean>;
    charging_fulfillment_id: string | null;
    saga_step: SagaStep;
    saga_attempts: Generated<number>;
    next_attempt_at: Date;
    cancel_reason: string | null;
    last_error: string | null;
    idempotency_key: string;
    guest_email: string | null;
    guest_claimed_at: Date | null;
    version: Generated<number>;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  order_edits: {
    id: string;
    order_id: string;
    version: number;
    idempotency_key: string;
    status: EditStatus;
    before: ColumnType<OrderVersion, string, never>;
    after: ColumnType<OrderVersion, string, never>;
    difference: number;
    charged_amount: Generated<number>;
    refunds: ColumnType<EditRefund[], string | undefined, never>;
    reason: string | null;
    edited_by: string;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  draft_payment_links: {
    token_hash: string;
    draft_id: string;
    expires_at: Date;
    created_at: Generated<Date>;
  };
  order_tokens: {
    token_hash: string;
    order_id: string;
    created_at: Generated<Date>;
  };
  draft_orders: {
    id: string;
    customer_id: string | null;
    email: string | null;
    items: ColumnType<DraftLine[], string, string>;
    shipping_address: ColumnType<Record<string, string>, string, string>;
    status: Generated<'open' | 'completed'>;
    order_id: string | null;
    created_by: string;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  order_items: {
    id: string;
    order_id: string;
    variant_id: string;
    sku: string;
    name: string;
    quantity: number;
    unit_amount: number;
    line_amount: number;
    discount_amount: Generated<number>;
    tax_amount: Generated<number>;
    price_list: ColumnType<{ id: string; name: string } | null, string | null, never>;
  };
  order_refunds: {
    id: string;
    order_id: string;
    idempotency_key: string;
    amount: number;
    reason: string;
    status: RefundStatus;
    issued_by: string;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  order_notes: {
    id: string;
    order_id: string;
    author_id: string;
    author_name: string;
    body: string;
    created_at: Generated<Date>;
  };
  order_transitions: {
    id: string;
    order_id: string;
    from_status: OrderStatus | null;
    to_status: OrderStatus;
    reason: string | null;
    at: Generated<Date>;
  };
};

export interface OrderRow {
  id: string;
  userId: string;
  status: OrderStatus;
  currency: string;
  subtotalAmount: number;
  discountAmount: number;
  shippingAmount: number;
  taxAmount: number;
  shippingTaxAmount: number;
  /** The amounts contain their tax (priced in a tax-inclusive region). */
  taxInclusive: boolean;
  totalAmount: number;
  refundedAmount: number;
  promotionCode: string | null;
  /** How the discount came about, as the cart showed it at checkout (amounts in minor units). */
  discounts: PricedDiscount[];
  shippingMethod: ShippingMethod | null;
  shippingAddress: Record<string, string>;
  /** None when a gift card paid the whole order. */
  paymentToken: string | null;
  /** What a gift card paid; the payment token pays the rest. */
  balanceAmount: number;
  /** The draft it was placed from: no cart to take or give back. */
  draftOrderId: string | null;
  source: OrderSource;
  /** Paid outside the shop (a bank transfer, cash): no provider payment. */
  paidOffline: boolean;
  sagaStep: SagaStep;
  sagaAttempts: number;
  cancelReason: string | null;
  /** The shipment whose capture is in flight (PAYMENTS_CAPTURE=on_shipment); it holds the order. */
  chargingFulfillmentId: string | null;
  /** Where a guest's order is mailed; null for an order placed signed in. */
  guestEmail: string | null;
  /** When a user who proved that address took the guest order as theirs. */
  guestClaimedAt: Date | null;
  /** 1 as placed; each edit makes the next. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface OrderItemRow {
  id: string;
  orderId: string;
  variantId: string;
  sku: string;
  name: string;
  quantity: number;
  unitAmount: number;
  lineAmount: number;
  discountAmount: number;
  taxAmount: number;
  /** The price list that priced the line below the shelf, as the cart named it. */
  priceList: { id: string; name: string } | null;
}

const tables = (executor: Db): Kysely<OrderingTables> => executor.withTables<OrderingTables>();

/**
 * An edit: `charging` while its payment is taken, `undoing` while that payment goes back (the edit
 * could not be applied), `refunding` once applied while its refund is paid, then `applied`; or `failed`.
 */
export type EditStatus = 'charging' | 'undoing' | 'refunding' | 'applied' | 'failed';

/** An order's lines and totals at one version, as its edits record them. */
export interface OrderVersion {
  items: Array<Omit<OrderItemRow, 'orderId'>>;
  subtotalAmount: number;
  discountAmount: number;
  taxAmount: number;
  totalAmount: number;
  discounts: PricedDiscount[];
}

/** A refund an edit pays: from the order's own payment (its id) or an earlier edit's (that edit's id). */
export interface EditRefund {
  paymentOf: string;
  amount: number;
}

export interface EditRow {
  id: string;
  orderId: string;
  version: number;
  status: EditStatus;
  before: OrderVersion;
  after: OrderVersion;
  difference: number;
  chargedAmount: number;
  refunds: EditRefund[];
  reason: string | null;
  editedBy: string;
  createdAt: Date;
  updatedAt: Date;
}

const editColumns = [
  'id',
  'order_id as orderId',
  'version',
  'status',
  'before',
  'after',
  'difference',
  'charged_amount as chargedAmount',
  'refunds',
  'reason',
  'edited_by as editedBy',
  'created_at as createdAt',
  'updated_at as updatedAt',
] as const;

/** A line of a draft: what staff picked, priced whenever the draft is read. */
export interface DraftLine {
  id: string;
  variantId: string;
  quantity: number;
}

export interface DraftRow {
  id: string;
  customerId: string | null;
  email: string | null;
  items: DraftLine[];
  shippingAddress: Record<string, string>;
  status: 'open' | 'completed';
  orderId: string | null;
  createdBy: string;
  createdAt: Date;
}

const draftColumns = [
  'id',
  'customer_id as customerId',
  'email',
  'items',
  'shipping_address as shippingAddress',
  'status',
  'order_id as orderId',
  'created_by as createdBy',
  'created_at as createdAt',
] as const;

const orderColumns = [
  'id',
  'user_id as userId',
  'status',
  'currency',
  'subtotal_amount as subtotalAmount',
  'discount_amount as discountAmount',
  'shipping_amount as shippingAmount',
  'tax_amount as taxAmount',
  'shipping_tax_amount as shippingTaxAmount',
  'tax_inclusive as taxInclusive',
  'total_amount as totalAmount',
  'refunded_amount as refundedAmount',
  'promotion_code as promotionCode',
  'discounts',
  'shipping_method as shippingMethod',
  'shipping_address as shippingAddress',
  'payment_token as paymentToken',
  'balance_amount as balanceAmount',
  'draft_order_id as draftOrderId',
  'source',
  'paid_offline as paidOffline',
  'saga_step as sagaStep',
  'saga_attempts as sagaAttempts',
  'cancel_reason as cancelReason',
  'charging_fulfillment_id as chargingFulfillmentId',
  'guest_email as guestEmail',
  'guest_claimed_at as guestClaimedAt',
  'version',
  'created_at as createdAt',
  'updated_at as updatedAt',
] as const;

const itemColumns = [
  'id',
  'order_id as orderId',
  'variant_id as variantId',
  'sku',
  'name',
  'quantity',
  'unit_amount as unitAmount',
  'line_amount as lineAmount',
  'discount_amount as discountAmount',
  'tax_amount as taxAmount',
  'price_list as priceList',
] as const;

const inMs = (ms: number) => sql<Date>`now() + ${`${Math.max(0, Math.round(ms))} milliseconds`}::interval`;

/** An order that was paid and not cancelled: it counts as a sale (less what was refunded). */
const PAID_STATUSES: OrderStatus[] = ['confirmed', 'partially_shipped', 'shipped'];

const noteColumns = ['id', 'author_name as author', 'body', 'created_at as createdAt'] as const;

export const orderStore = {
  async insertToken(executor: Db, orderId: string, tokenHash: string): Promise<void> {
    await tables(executor)
      .insertInto('order_tokens')
      .values({ token_hash: tokenHash, order_id: orderId })
      .execute();
  },

  /** Whether the token's hash opens this order. */
  async tokenOpens(executor: Db, orderId: string, tokenHash: string): Promise<boolean> {
    const row = await tables(executor)
      .selectFrom('order_tokens')
      .select('order_id')
      .where('token_hash', '=', tokenHash)
      .where('order_id', '=', orderId)
      .executeTakeFirst();
    return row !== undefined;
  },

  /**
   * Gives a user the guest orders placed with their (now verified) address; answers how many.
   * Each guest order is claimed once: it stays with the first user who proved the address.
   */
  async claimGuestOrders(executor: Db, userId: string, email: string): Promise<number> {
    const result = await tables(executor)
      .updateTable('orders')
      .set({ user_id: userId, guest_claimed_at: sql`now()`, updated_at: sql`now()` })
      .where('guest_email', '=', email)
      .where('guest_claimed_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  /**
   * An erased account's orders stay for accounting with their personal fields gone: the
   * recipient's name and street, city and postal code are overwritten (the country stays: tax was
   * charged by it), and a guest address is removed. Answers how many orders were anonymised.
   */
  async anonymiseOrdersOf(executor: Db, userId: string): Promise<number> {
    const result = await tables(executor)
      .updateTable('orders')
      .set({
        shipping_address: sql`jsonb_build_object('name', 'Erased customer', 'line1', 'erased', 'city', 'erased',
          'postalCode', 'erased', 'country', shipping_address->>'country')`,
        guest_email: null,
        updated_at: sql`now()`,
      })
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  async insertOrder(
    executor: Db,
    order: Pick<
      OrderRow,
      | 'id'
      | 'userId'
      | 'currency'
      | 'subtotalAmount'
      | 'discountAmount'
      | 'shippingAmount'
      | 'taxAmount'
      | 'shippingTaxAmount'
      | 'taxInclusive'
      | 'totalAmount'
      | 'promotionCode'
      | 'discounts'
      | 'shippingMethod'
      | 'paymentToken'
      | 'balanceAmount'
      | 'draftOrderId'
      | 'source'
      | 'paidOffline'
      | 'guestEmail'
    > & { shippingAddress: object; idempotencyKey: string; claimMs: number },
    items: Array<Omit<OrderItemRow, 'orderId'>>,
    announce: EventsWrite,
  ): Promise<{ order: OrderRow; items: OrderItemRow[] }> {
    const itemRows: OrderItemRow[] = items.map((item) => ({ ...item, orderId: order.id }));
    // One statement writes the order, its lines, its first transition and its events: one round trip.
    const row = await tables(executor)
      .with('created', (db) =>
        db
          .insertInto('orders')
          .values({
            id: order.id,
            user_id: order.userId,
            status: 'pending',
            currency: order.currency,
            subtotal_amount: order.subtotalAmount,
            discount_amount: order.discountAmount,
            shipping_amount: order.shippingAmount,
            tax_amount: order.taxAmount,
            shipping_tax_amount: order.shippingTaxAmount,
            tax_inclusive: order.taxInclusive,
            total_amount: order.totalAmount,
            promotion_code: order.promotionCode,
            discounts: JSON.stringify(order.discounts),
            shipping_method: order.shippingMethod ? JSON.stringify(order.shippingMethod) : null,
            shipping_address: JSON.stringify(order.shippingAddress),
            payment_token: order.paymentToken,
            balance_amount: order.balanceAmount,
            draft_order_id: order.draftOrderId,
            source: order.source,
            paid_offline: order.paidOffline,
            saga_step: 'authorize',
            next_attempt_at: inMs(order.claimMs),
            cancel_reason: null,
            last_error: null,
            idempotency_key: order.idempotencyKey,
            guest_email: order.guestEmail,
          })
          .returning(orderColumns),
      )
      .with('lines', (db) =>
        db
          .insertInto('order_items')
          .values(
            itemRows.map((item) => ({
              id: item.id,
              order_id: order.id,
              variant_id: item.variantId,
              sku: item.sku,
              name: item.name,
              quantity: item.quantity,
              unit_amount: item.unitAmount,
              line_amount: item.lineAmount,
              discount_amount: item.discountAmount,
              tax_amount: item.taxAmount,
              price_list: item.priceList ? JSON.stringify(item.priceList) : null,
            })),
          )
          .returning('id'),
      )
      .with('transition', (db) =>
        db
          .insertInto('order_transitions')
          .values({
            id: uuidv7(),
            order_id: order.id,
            from_status: null,
            to_status: 'pending',
            reason: 'checkout',
          })
          .returning('id'),
      )
      // Kysely types a CTE as one of its builders; the events' part is raw SQL of the same shape.
      .with('announced', () => announce() as never)
      .selectFrom('created')
      .selectAll()
      .executeTakeFirstOrThrow();
    // The order itemsOf reads them in.
    itemRows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { order: row as OrderRow, items: itemRows };
  },

  byId(executor: Db, id: string): Promise<OrderRow | undefined> {
    return tables(executor)
      .selectFrom('orders')
      .select(orderColumns)
      .where('id', '=', id)
      .executeTakeFirst() as Promise<OrderRow | undefined>;
  },

  /** Each order's currency, by id (absent ids are left out). */
  async currencies(executor: Db, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await tables(executor)
      .selectFrom('orders')
      .select(['id', 'currency'])
      .where('id', 'in', [...ids])
      .execute();
    return new Map(rows.map((row) => [row.id, row.currency]));
  },

  async insertDraft(
    executor: Db,
    draft: Omit<DraftRow, 'status' | 'orderId' | 'createdAt'>,
  ): Promise<DraftRow> {
    const row = await tables(executor)
      .insertInto('draft_orders')
      .values({
        id: draft.id,
        customer_id: draft.customerId,
        email: draft.email,
        items: JSON.stringify(draft.items),
        shipping_address: JSON.stringify(draft.shippingAddress),
        created_by: draft.createdBy,
      })
      .returning(draftColumns)
      .executeTakeFirstOrThrow();
    return row as DraftRow;
  },

  async draftById(executor: Db, id: string): Promise<DraftRow | undefined> {
    return (await tables(executor)
      .selectFrom('draft_orders')
      .select(draftColumns)
      .where('id', '=', id)
      .executeTakeFirst()) as DraftRow | undefined;
  },

  async openDrafts(executor: Db, limit: number): Promise<DraftRow[]> {
    return (await tables(executor)
      .selectFrom('draft_orders')
      .select(draftColumns)
      .where('status', '=', 'open')
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute()) as DraftRow[];
  },

  /** The draft became this order; false when it was completed already (by another request). */
  async insertPaymentLink(executor: Db, draftId: string, tokenHash: string, expiresAt: Date): Promise<void> {
    await tables(executor)
      .insertInto('draft_payment_links')
      .values({ token_hash: tokenHash, draft_id: draftId, expires_at: expiresAt })
      .execute();
  },

  /** The draft an unexpired payment link's token opens. */
  async draftByLink(executor: Db, tokenHash: string): Promise<DraftRow | undefined> {
    return (await tables(executor)
      .selectFrom('draft_payment_links as l')
      .innerJoin('draft_orders as d', 'd.id', 'l.draft_id')
      .select(draftColumns.map((column) => `d.${column}` as const))
      .where('l.token_hash', '=', tokenHash)
      .where('l.expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst()) as DraftRow | undefined;
  },

  /** The draft's order was cancelled at checkout (its payment failed): the draft is open again. */
  async reopenDraft(executor: Db, id: string, orderId: string): Promise<void> {
    await tables(executor)
      .updateTable('draft_orders')
      .set({ status: 'open', order_id: null, updated_at: sql`now()` })
      .where('id', '=', id)
      .where('order_id', '=', orderId)
      .execute();
  },

  async completeDraft(executor: Db, id: string, orderId: string): Promise<boolean> {
    const result = await tables(executor)
      .updateTable('draft_orders')
      .set({ status: 'completed', order_id: orderId, updated_at: sql`now()` })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  byIdempotencyKey(executor: Db, userId: string, key: string): Promise<OrderRow | undefined> {
    return tables(executor)
      .selectFrom('orders')
      .select(orderColumns)
      .where('user_id', '=', userId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst() as Promise<OrderRow | undefined>;
  },

  async itemsOf(executor: Db, orderIds: readonly string[]): Promise<OrderItemRow[]> {
    if (orderIds.length === 0) return [];
    return tables(executor)
      .selectFrom('order_items')
      .select(itemColumns)
      .where('order_id', 'in', orderIds)
      .orderBy('order_id')
      .orderBy('id')
      .execute();
  },

  /** Orders placed in [from, to) that were not cancelled, newest first, at most `limit`. */
  placedBetween(executor: Db, from: Date, to: Date, limit: number): Promise<OrderRow[]> {
    return tables(executor)
      .selectFrom('orders')
      .select(orderColumns)
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .where('status', '<>', 'cancelled')
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute() as Promise<OrderRow[]>;
  },

  async list(
    executor: Db,
    filter: {
      userId?: string;
      status?: OrderStatus;
      from?: Date;
      to?: Date;
      /** Text in the order's number (its id) or guest email, or one of these customers' orders. */
      search?: { text: string; userIds: readonly string[] };
    },
    page: { offset: number; limit: number },
  ): Promise<{ rows: OrderRow[]; total: number }> {
    let query = tables(executor).selectFrom('orders');
    if (filter.userId) query = query.where('user_id', '=', filter.userId);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.from) query = query.where('created_at', '>=', filter.from);
    if (filter.to) query = query.where('created_at', '<', filter.to);
    const search = filter.search;
    if (search) {
      const text = search.text.toLowerCase();
      query = query.where((where) =>
        where.or([
          // strpos matches the text literally (no LIKE wildcards to escape).
          where(sql<number>`strpos(id::text, ${text})`, '>', 0),
          where(sql<number>`strpos(lower(guest_email), ${text})`, '>', 0),
          ...(search.userIds.length > 0 ? [where('user_id', 'in', [...search.userIds])] : []),
        ]),
      );
    }
    const { rows, total } = await pageOf(query, (filtered) => filtered.select(orderColumns), page);
    return { rows: rows as OrderRow[], total };
  },

  /**
   * Moves the saga on; the status changes only if it still is `from` (a conditional update).
   * Returns the order as changed, or undefined when it was not (another status, or no such order).
   */
  async advance(
    executor: Db,
    id: string,
    change: {
      from?: OrderStatus;
      status?: OrderStatus;
      sagaStep?: SagaStep;
      cancelReason?: string;
      releaseClaimInMs?: number;
      /** Move only an order no saga step is working on (a cancellation in progress keeps it). */
      settled?: boolean;
    },
    /** Events of a status change, written in its statement only if the change happened. */
    announce?: EventsWrite,
  ): Promise<OrderRow | undefined> {
    let query = tables(executor)
      .updateTable('orders')
      .set({
        ...(change.status ? { status: change.status } : {}),
        ...(change.sagaStep ? { saga_step: change.sagaStep } : {}),
        ...(change.cancelReason ? { cancel_reason: change.cancelReason } : {}),
        ...(change.releaseClaimInMs !== undefined ? { next_attempt_at: inMs(change.releaseClaimInMs) } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', id);
    if (change.from) query = query.where('status', '=', change.from);
    if (change.settled) query = query.where('saga_step', '=', 'done');
    const updated = query.returning(orderColumns);
    if (!(change.status && change.from && change.status !== change.from)) {
      if (announce) throw new Error('only a status change announces itself');
      return (await updated.executeTakeFirst()) as OrderRow | undefined;
    }
    // A status change records its transition in the same statement, only if the update happened.
    const reason = change.cancelReason ?? change.sagaStep ?? null;
    const recorded = tables(executor)
      .with('moved', () => updated)
      .with('transition', (db) =>
        db
          .insertInto('order_transitions')
          .columns(['id', 'order_id', 'from_status', 'to_status', 'reason'])
          .expression(
            db
              .selectFrom('moved')
              .select([
                sql<string>`${uuidv7()}::uuid`.as('id'),
                'moved.id as order_id',
                sql<OrderStatus>`${change.from}::text`.as('from_status'),
                sql<OrderStatus>`${change.status}::text`.as('to_status'),
                sql<string | null>`${reason}::text`.as('reason'),
              ]),
          )
          .returning('id'),
      );
    // Kysely types a CTE as one of its builders; the events' part is raw SQL of the same shape.
    const statement = announce ? recorded.with('announced', () => announce('moved') as never) : recorded;
    return (await statement.selectFrom('moved').selectAll().executeTakeFirst()) as OrderRow | undefined;
  },

  /**
   * A failed saga step: count it, write the step the saga reached (it may not be written yet), and
   * hand the order to recovery after a backoff.
   */
  async recordFailure(
    executor: Db,
    order: Pick<OrderRow, 'id' | 'sagaStep'>,
    error: string,
    retryInMs: number,
  ): Promise<number> {
    const row = await tables(executor)
      .updateTable('orders')
      .set((eb) => ({
        saga_step: order.sagaStep,
        saga_attempts: eb('saga_attempts', '+', 1),
        last_error: error.slice(0, 500),
        next_attempt_at: inMs(retryInMs),
        updated_at: sql`now()`,
      }))
      .where('id', '=', order.id)
      .where('saga_step', '<>', 'done')
      .returning('saga_attempts')
      .executeTakeFirst();
    // Finished meanwhile (another worker): nothing to retry.
    return row?.saga_attempts ?? 0;
  },

  /**
   * Claims orders whose saga is unfinished and whose claim lapsed, pushing their claim forward in
   * the same statement; SKIP LOCKED lets several workers claim disjoint sets.
   */
  async claimStalled(executor: Db, limit: number, claimMs: number): Promise<string[]> {
    const rows = await tables(executor)
      .updateTable('orders')
      .set({ next_attempt_at: inMs(claimMs) })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('orders')
          .select('id')
          .where('saga_step', '<>', 'done')
          .where('next_attempt_at', '<=', sql<Date>`now()`)
          .orderBy('next_attempt_at')
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
  },

  /** The order's payment waits for the shopper: recovery looks again in `pollMs`, a webhook sooner. */
  awaitShopper(executor: Db, id: string, pollMs: number): Promise<OrderRow | undefined> {
    return tables(executor)
      .updateTable('orders')
      .set({ awaiting_action: true, next_attempt_at: inMs(pollMs), updated_at: sql`now()` })
      .where('id', '=', id)
      .where('saga_step', '=', 'authorize')
      .returning(orderColumns)
      .executeTakeFirst() as Promise<OrderRow | undefined>;
  },

  /** Claims an order that waited for the shopper, to go on now; undefined when it was not waiting. */
  resumeAwaiting(executor: Db, id: string, claimMs: number): Promise<OrderRow | undefined> {
    return tables(executor)
      .updateTable('orders')
      .set({ awaiting_action: false, next_attempt_at: inMs(claimMs), updated_at: sql`now()` })
      .where('id', '=', id)
      .where('awaiting_action', '=', true)
      .returning(orderColumns)
      .executeTakeFirst() as Promise<OrderRow | undefined>;
  },

  /** Locks an order for the rest of the transaction: fulfillments and returns of one order queue here. */
  lockById(executor: Db, id: string): Promise<OrderRow | undefined> {
    return tables(executor)
      .selectFrom('orders')
      .select(orderColumns)
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst() as Promise<OrderRow | undefined>;
  },

  /**
   * Holds or releases the order for a shipment whose capture is in flight; the caller holds the
   * order's row lock. Holding answers false when another shipment holds it.
   */
  async holdForCapture(executor: Db, id: string, fulfillmentId: string | null, held: string | null) {
    const moved = await tables(executor)
      .updateTable('orders')
      .set({ charging_fulfillment_id: fulfillmentId, updated_at: sql`now()` })
      .where('id', '=', id)
      .where((eb) =>
        held === null ? eb('charging_fulfillment_id', 'is', null) : eb('charging_fulfillment_id', '=', held),
      )
      .executeTakeFirst();
    return moved.numUpdatedRows > 0n;
  },

  /** Adds a refund to the order (the CHECK keeps it within the total). */
  async addRefund(executor: Db, id: string, amount: number): Promise<void> {
    await tables(executor)
      .updateTable('orders')
      .set((eb) => ({
        refunded_amount: eb('refunded_amount', '+', amount),
        updated_at: sql`now()`,
      }))
      .where('id', '=', id)
      .execute();
  },

  /**
   * Begins cancelling a confirmed order that nothing else is moving, in one conditional update (its
   * row lock is the decision): the saga then refunds it, and until it is cancelled nothing ships
   * it (fulfillment moves only settled orders; the database trigger refuses the rest). The caller
   * holds the order's claim; undefined when the order is not confirmed-and-settled now.
   */
  beginCancellation(
    executor: Db,
    id: string,
    reason: string,
    claimMs: number,
  ): Promise<OrderRow | undefined> {
    return tables(executor)
      .updateTable('orders')
      .set({
        saga_step: 'cancel_refund',
        saga_attempts: 0,
        cancel_reason: reason,
        next_attempt_at: inMs(claimMs),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .where('status', '=', 'confirmed')
      .where('saga_step', '=', 'done')
      .where('charging_fulfillment_id', 'is', null)
      .returning(orderColumns)
      .executeTakeFirst() as Promise<OrderRow | undefined>;
  },

  /** Whether the user has a paid order (confirmed or shipped, even in part) with any of the variants. */
  async hasBought(executor: Db, userId: string, variantIds: readonly string[]): Promise<boolean> {
    if (variantIds.length === 0) return false;
    const row = await tables(executor)
      .selectFrom('orders')
      .innerJoin('order_items', 'order_items.order_id', 'orders.id')
      .select('orders.id')
      .where('orders.user_id', '=', userId)
      .where('orders.status', 'in', PAID_STATUSES)
      .where('order_items.variant_id', 'in', [...variantIds])
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  },

  /**
   * What each of these users bought: paid orders (confirmed or shipped, even in part) counted,
   * with what they kept paid (total less refunds) per currency and when they last ordered. One
   * grouped read over `orders_user_idx`.
   */
  spendingOf(
    executor: Db,
    userIds: readonly string[],
  ): Promise<Array<{ userId: string; currency: string; orders: number; spent: number; lastOrderAt: Date }>> {
    if (userIds.length === 0) return Promise.resolve([]);
    return tables(executor)
      .selectFrom('orders')
      .select([
        'user_id as userId',
        'currency',
        sql<number>`count(*)::int`.as('orders'),
        sql<number>`sum(total_amount - refunded_amount)::bigint`.as('spent'),
        sql<Date>`max(created_at)`.as('lastOrderAt'),
      ])
      .where('user_id', 'in', [...userIds])
      .where('status', 'in', PAID_STATUSES)
      .groupBy(['user_id', 'currency'])
      .orderBy('user_id')
      .orderBy('currency')
      .execute();
  },

  /** Writes a staff refund `requested`, or answers the one already written under this key. */
  async requestRefund(
    executor: Db,
    refund: { orderId: string; key: string; amount: number; reason: string; issuedBy: string },
  ): Promise<RefundRow> {
    const inserted = await tables(executor)
      .insertInto('order_refunds')
      .values({
        id: uuidv7(),
        order_id: refund.orderId,
        idempotency_key: refund.key,
        amount: refund.amount,
        reason: refund.reason,
        status: 'requested',
        issued_by: refund.issuedBy,
      })
      .onConflict((oc) => oc.columns(['order_id', 'idempotency_key']).doNothing())
      .returning(refundColumns)
      .executeTakeFirst();
    return (
      inserted ??
      tables(executor)
        .selectFrom('order_refunds')
        .select(refundColumns)
        .where('order_id', '=', refund.orderId)
        .where('idempotency_key', '=', refund.key)
        .executeTakeFirstOrThrow()
    );
  },

  /** requested → refunded or rejected; false when it had already moved on. */
  async settleRefund(executor: Db, id: string, status: 'refunded' | 'rejected'): Promise<boolean> {
    const moved = await tables(executor)
      .updateTable('order_refunds')
      .set({ status, updated_at: sql`now()` })
      .where('id', '=', id)
      .where('status', '=', 'requested')
      .executeTakeFirst();
    return moved.numUpdatedRows > 0n;
  },

  refundsOf(executor: Db, orderId: string): Promise<RefundRow[]> {
    return tables(executor)
      .selectFrom('order_refunds')
      .select(refundColumns)
      .where('order_id', '=', orderId)
      .orderBy('id')
      .execute();
  },

  /** Staff refunds whose answer did not come back (a crash, the provider down) for `olderThanMs`. */
  stalledRefunds(executor: Db, olderThanMs: number, limit: number): Promise<RefundRow[]> {
    return tables(executor)
      .selectFrom('order_refunds')
      .select(refundColumns)
      .where('status', '=', 'requested')
      .where('created_at', '<', sql<Date>`now() - ${`${olderThanMs} milliseconds`}::interval`)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  },

  /** Writes an edit, or answers the one already written under this key (undefined: another edit holds the version). */
  async insertEdit(
    executor: Db,
    edit: Omit<EditRow, 'chargedAmount' | 'createdAt' | 'updatedAt'> & { key: string },
  ): Promise<{ row: EditRow; inserted: boolean } | undefined> {
    const existing = () => orderStore.editByKey(executor, edit.orderId, edit.key);
    try {
      const row = await tables(executor)
        .insertInto('order_edits')
        .values({
          id: edit.id,
          order_id: edit.orderId,
          version: edit.version,
          idempotency_key: edit.key,
          status: edit.status,
          before: JSON.stringify(edit.before),
          after: JSON.stringify(edit.after),
          difference: edit.difference,
          refunds: JSON.stringify(edit.refunds),
          reason: edit.reason,
          edited_by: edit.editedBy,
        })
        .onConflict((oc) => oc.columns(['order_id', 'idempotency_key']).doNothing())
        .returning(editColumns)
        .executeTakeFirst();
      if (row) return { row: row as EditRow, inserted: true };
      return { row: (await existing())!, inserted: false };
    } catch (error) {
      // The version is taken: another edit of this order is under way or was just applied.
      if ((error as { code?: unknown }).code !== '23505') throw error;
      const mine = await existing();
      return mine ? { row: mine, inserted: false } : undefined;
    }
  },

  editByKey(executor: Db, orderId: string, key: string): Promise<EditRow | undefined> {
    return tables(executor)
      .selectFrom('order_edits')
      .select(editColumns)
      .where('order_id', '=', orderId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst() as Promise<EditRow | undefined>;
  },

  /** Moves an edit on from one of `from`; false when it had moved already. */
  async moveEdit(
    executor: Db,
    id: string,
    from: readonly EditStatus[],
    to: EditStatus,
    chargedAmount?: number,
  ): Promise<boolean> {
    const moved = await tables(executor)
      .updateTable('order_edits')
      .set({
        status: to,
        ...(chargedAmount !== undefined ? { charged_amount: chargedAmount } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return moved.numUpdatedRows > 0n;
  },

  editsOf(executor: Db, orderId: string): Promise<EditRow[]> {
    return tables(executor)
      .selectFrom('order_edits')
      .select(editColumns)
      .where('order_id', '=', orderId)
      .orderBy('version')
      .orderBy('id')
      .execute() as Promise<EditRow[]>;
  },

  /** Edits of these orders that were applied with a payment of their own. */
  chargedEdits(executor: Db, orderIds: readonly string[]): Promise<Array<{ id: string; orderId: string }>> {
    if (orderIds.length === 0) return Promise.resolve([]);
    return tables(executor)
      .selectFrom('order_edits')
      .select(['id', 'order_id as orderId'])
      .where('order_id', 'in', orderIds)
      .where('status', 'in', ['applied', 'refunding'])
      .where('charged_amount', '>', 0)
      .orderBy('version')
      .execute();
  },

  /** Edits whose request stopped half-way (a crash, the provider down) `olderThanMs` ago. */
  unsettledEdits(executor: Db, olderThanMs: number, limit: number): Promise<EditRow[]> {
    return tables(executor)
      .selectFrom('order_edits')
      .select(editColumns)
      .where('status', 'in', ['charging', 'undoing', 'refunding'])
      .where('updated_at', '<', sql<Date>`now() - ${`${olderThanMs} milliseconds`}::interval`)
      .orderBy('updated_at')
      .limit(limit)
      .execute() as Promise<EditRow[]>;
  },

  /**
   * Writes an order's next version: its totals and its lines as `after` has them, under the
   * order's row lock, only if it is still at `version - 1`. False when another edit got there first.
   */
  async applyVersion(executor: Db, orderId: string, version: number, after: OrderVersion): Promise<boolean> {
    const moved = await tables(executor)
      .updateTable('orders')
      .set({
        version,
        subtotal_amount: after.subtotalAmount,
        discount_amount: after.discountAmount,
        tax_amount: after.taxAmount,
        total_amount: after.totalAmount,
        discounts: JSON.stringify(after.discounts),
        updated_at: sql`now()`,
      })
      .where('id', '=', orderId)
      .where('version', '=', version - 1)
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return false;
    await tables(executor).deleteFrom('order_items').where('order_id', '=', orderId).execute();
    await tables(executor)
      .insertInto('order_items')
      .values(
        after.items.map((item) => ({
          id: item.id,
          order_id: orderId,
          variant_id: item.variantId,
          sku: item.sku,
          name: item.name,
          quantity: item.quantity,
          unit_amount: item.unitAmount,
          line_amount: item.lineAmount,
          discount_amount: item.discountAmount,
          tax_amount: item.taxAmount,
          price_list: item.priceList ? JSON.stringify(item.priceList) : null,
        })),
      )
      .execute();
    return true;
  },

  transitions(executor: Db, orderId: string) {
    return tables(executor)
      .selectFrom('order_transitions')
      .select(['from_status as from', 'to_status as to', 'reason', 'at'])
      .where('order_id', '=', orderId)
      .orderBy('at')
      .orderBy('id')
      .execute();
  },
  /**
   * Orders placed in [from, to) by bucket (`interval` as date_trunc names it, in UTC), currency
   * and status: counts, and what the paid ones kept (totals less refunds). One grouped read over
   * `orders_created_idx`; the report folds it into its series, totals and status counts.
   */
  ordersByBucket(executor: Db, window: { from: Date; to: Date; interval: 'day' | 'week' | 'month' }) {
    return sql<{ bucket: Date; currency: string; status: OrderStatus; orders: number; kept: number }>`
      select date_trunc(${window.interval}, created_at at time zone 'UTC') at time zone 'UTC' as bucket,
             currency, status, count(*)::int as orders, sum(total_amount - refunded_amount)::bigint as kept
        from orders
       where created_at >= ${window.from} and created_at < ${window.to}
       group by 1, 2, 3
       order by 1, 2, 3`
      .execute(executor)
      .then((result) => result.rows.map((row) => ({ ...row, kept: Number(row.kept) })));
  },

  /** What paid orders placed in [from, to) kept, per currency: the report's period before. */
  async paidBetween(executor: Db, from: Date, to: Date) {
    const rows = await tables(executor)
      .selectFrom('orders')
      .select([
        'currency',
        sql<number>`count(*)::int`.as('orders'),
        sql<number>`sum(total_amount - refunded_amount)::bigint`.as('kept'),
      ])
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .where('status', 'in', PAID_STATUSES)
      .groupBy('currency')
      .execute();
    return rows.map((row) => ({ ...row, kept: Number(row.kept) }));
  },

  /** The variants that sold most (by units) in paid orders of `currency` placed in [from, to). */
  async topSellers(executor: Db, window: { from: Date; to: Date; currency: string; limit: number }) {
    const rows = await tables(executor)
      .selectFrom('orders')
      .innerJoin('order_items', 'order_items.order_id', 'orders.id')
      .select([
        'order_items.variant_id as variantId',
        sql<string>`min(order_items.sku)`.as('sku'),
        sql<string>`min(order_items.name)`.as('name'),
        sql<number>`sum(order_items.quantity)::int`.as('quantity'),
        sql<number>`sum(order_items.line_amount - order_items.discount_amount)::bigint`.as('sales'),
      ])
      .where('orders.created_at', '>=', window.from)
      .where('orders.created_at', '<', window.to)
      .where('orders.status', 'in', PAID_STATUSES)
      .where('orders.currency', '=', window.currency)
      .groupBy('order_items.variant_id')
      .orderBy('quantity', 'desc')
      .orderBy('sales', 'desc')
      .limit(window.limit)
      .execute();
    return rows.map((row) => ({ ...row, sales: Number(row.sales) }));
  },

  addNote(executor: Db, note: { orderId: string; authorId: string; authorName: string; body: string }) {
    return tables(executor)
      .insertInto('order_notes')
      .values({
        id: uuidv7(),
        order_id: note.orderId,
        author_id: note.authorId,
        author_name: note.authorName,
        body: note.body,
      })
      .returning(noteColumns)
      .executeTakeFirstOrThrow();
  },

  notes(executor: Db, orderId: string) {
    return tables(executor)
      .selectFrom('order_notes')
      .select(noteColumns)
      .where('order_id', '=', orderId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  },
};
