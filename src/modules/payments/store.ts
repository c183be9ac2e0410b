import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { CustomerAction } from './provider.ts';

export type PaymentStatus =
  | 'pending'
  | 'requires_action'
  | 'authorized'
  | 'declined'
  | 'partially_captured'
  | 'captured'
  | 'voided'
  | 'refunded'
  | 'partially_refunded'
  | 'failed';

/** Refunds are `pending` from their reservation until the provider answers; other operations are written `done`. */
export type OperationState = 'pending' | 'done' | 'failed';

export type OperationKind = 'authorize' | 'decline' | 'capture' | 'void' | 'reversal' | 'refund';

interface PaymentsTable {
  id: string;
  order_id: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  provider_authorization_id: string | null;
  action: unknown;
  captured_amount: Generated<number>;
  refunded_amount: Generated<number>;
  refunding_amount: Generated<number>;
  reconciled_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

interface PaymentOperationsTable {
  id: string;
  payment_id: string;
  kind: OperationKind;
  idempotency_key: string;
  amount: number;
  provider_reference: string | null;
  state: Generated<OperationState>;
  created_at: Generated<Date>;
}

interface WebhookEventsTable {
  provider: string;
  event_id: string;
  type: string;
  received_at: Generated<Date>;
}

interface DriftTable {
  id: string;
  payment_id: string;
  order_id: string;
  kind: DriftKind;
  ours: unknown;
  theirs: unknown;
  found_at: Generated<Date>;
}

/** What our ledger and the provider's can disagree about. */
export type DriftKind = 'status' | 'captured' | 'refunded';

export interface DriftRow {
  id: string;
  paymentId: string;
  orderId: string;
  kind: DriftKind;
  ours: unknown;
  theirs: unknown;
  currency: string;
  foundAt: Date;
}

type PaymentTables = {
  payment_drift: DriftTable;
  payments: PaymentsTable;
  payment_operations: PaymentOperationsTable;
  payment_webhook_events: WebhookEventsTable;
};

export interface PaymentRow {
  id: string;
  orderId: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  providerAuthorizationId: string | null;
  /** What the shopper must do while the payment requires action. */
  action: CustomerAction | null;
  capturedAmount: number;
  refundedAmount: number;
  /** Promised back by refunds still in flight; captured - refunded - refunding is what may still be refunded. */
  refundingAmount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface OperationRow {
  id: string;
  paymentId: string;
  kind: OperationKind;
  idempotencyKey: string;
  amount: number;
  providerReference: string | null;
  state: OperationState;
  createdAt: Date;
}

const paymentColumns = [
  'id',
  'order_id as orderId',
  'status',
  'amount',
  'currency',
  'provider_authorization_id as providerAuthorizationId',
  'action',
  'captured_amount as capturedAmount',
  'refunded_amount as refundedAmount',
  'refunding_amount as refundingAmount',
  'created_at as createdAt',
  'updated_at as updatedAt',
] as const;
const operationColumns = [
  'id',
  'payment_id as paymentId',
  'kind',
  'idempotency_key as idempotencyKey',
  'amount',
  'provider_reference as providerReference',
  'state',
  'created_at as createdAt',
] as const;

/** An operation the provider confirmed, and the state change it causes. */
export interface ConfirmedOperation {
  kind: OperationKind;
  key: string;
  amount: number;
  providerReference: string | null;
  /** The change applies only while the payment is in one of these states. */
  from: PaymentStatus[];
  status: PaymentStatus;
  providerAuthorizationId?: string;
  capturedAmount?: number;
  /** The shopper's action while `requires_action`; cleared by any other state. */
  action?: CustomerAction;
}

// pg parses int8 to number; PGlite may hand back bigint. Amounts fit in a double.
const normalise = (row: Omit<PaymentRow, 'action'> & { action: unknown }): PaymentRow => ({
  ...row,
  action: (row.action as CustomerAction | null) ?? null,
  amount: Number(row.amount),
  capturedAmount: Number(row.capturedAmount),
  refundedAmount: Number(row.refundedAmount),
  refundingAmount: Number(row.refundingAmount),
  currency: row.currency.trim(),
});

const tables = (executor: Db): Kysely<PaymentTables> => executor.withTables<PaymentTables>();

async function byId(executor: Db, paymentId: string): Promise<PaymentRow> {
  return normalise(
    await tables(executor)
      .selectFrom('payments')
      .select(paymentColumns)
      .where('id', '=', paymentId)
      .executeTakeFirstOrThrow(),
  );
}

async function byOrder(executor: Db, orderId: string): Promise<PaymentRow | undefined> {
  const row = await tables(executor)
    .selectFrom('payments')
    .select(paymentColumns)
    .where('order_id', '=', orderId)
    .executeTakeFirst();
  return row && normalise(row);
}

const normaliseOperation = (row: OperationRow): OperationRow => ({ ...row, amount: Number(row.amount) });

/** A pending refund answered: the operation leaves `pending` and the payment's amounts follow, in one statement. */
async function moveRefund(
  executor: Db,
  paymentId: string,
  key: string,
  outcome: { state: 'done' | 'failed'; providerReference: string | null },
): Promise<PaymentRow> {
  const done = outcome.state === 'done';
  const moved = await tables(executor)
    .with('operation', (cte) =>
      cte
        .updateTable('payment_operations')
        .set({ state: outcome.state, provider_reference: outcome.providerReference })
        .where('idempotency_key', '=', key)
        .where('payment_id', '=', paymentId)
        .where('state', '=', 'pending')
        .returning('amount as refund_amount'),
    )
    .updateTable('payments')
    .from('operation')
    .set({
      refunding_amount: sql`payments.refunding_amount - operation.refund_amount`,
      ...(done && {
        refunded_amount: sql`payments.refunded_amount + operation.refund_amount`,
        // A payment still capturing (shipment by shipment) stays so; the last capture settles it.
        status: sql<PaymentStatus>`case when payments.status = 'partially_captured' then 'partially_captured'
                  when payments.refunded_amount + operation.refund_amount >= payments.captured_amount
                  then 'refunded' else 'partially_refunded' end`,
      }),
      updated_at: sql<Date>`now()`,
    })
    .where('payments.id', '=', paymentId)
    .returning(paymentColumns)
    .executeTakeFirst();
  return moved ? normalise(moved) : byId(executor, paymentId);
}

export const paymentsStore = {
  /** Inserts the order's payment as `pending`, or returns the one already there. */
  async claim(
    executor: Db,
    { orderId, amount, currency }: { orderId: string; amount: number; currency: string },
  ): Promise<PaymentRow> {
    const inserted = await tables(executor)
      .insertInto('payments')
      .values({ id: uuidv7(), order_id: orderId, status: 'pending', amount, currency })
      .onConflict((oc) => oc.column('order_id').doNothing())
      .returning(paymentColumns)
      .executeTakeFirst();
    if (inserted) return normalise(inserted);
    const existing = await byOrder(executor, orderId);
    if (!existing) throw new Error(`the payment of order ${orderId} vanished while it was claimed`);
    return existing;
  },

  findByOrder: byOrder,

  async findByOrders(executor: Db, orderIds: readonly string[]): Promise<PaymentRow[]> {
    if (orderIds.length === 0) return [];
    const rows = await tables(executor)
      .selectFrom('payments')
      .select(paymentColumns)
      .where('order_id', 'in', [...orderIds])
      .execute();
    return rows.map(normalise);
  },

  async findOperation(executor: Db, key: string): Promise<OperationRow | undefined> {
    const row = await tables(executor)
      .selectFrom('payment_operations')
      .select(operationColumns)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    return row && normaliseOperation(row);
  },

  /** Records the operation once per key and moves the payment, in one statement. */
  async confirm(executor: Db, paymentId: string, operation: ConfirmedOperation): Promise<PaymentRow> {
    // One statement, so atomic without a transaction: the operation is recorded once per key
    // (a data-modifying CTE) and the payment moves if it is still in a `from` state.
    const moved = await tables(executor)
      .with('operation', (cte) =>
        cte
          .insertInto('payment_operations')
          .values({
            id: uuidv7(),
            payment_id: paymentId,
            kind: operation.kind,
            idempotency_key: operation.key,
            amount: operation.amount,
            provider_reference: operation.providerReference,
          })
          .onConflict((oc) => oc.column('idempotency_key').doNothing()),
      )
      .updateTable('payments')
      .set({
        // Captured in full after refunds of earlier shipments: the refunds still show.
        status:
          operation.status === 'captured'
            ? sql<PaymentStatus>`case when refunded_amount = 0 then 'captured'
                when refunded_amount >= ${operation.capturedAmount ?? 0} then 'refunded'
                else 'partially_refunded' end`
            : operation.status,
        updated_at: sql<Date>`now()`,
        ...(operation.providerAuthorizationId && {
          provider_authorization_id: operation.providerAuthorizationId,
        }),
        ...(operation.capturedAmount !== undefined && { captured_amount: operation.capturedAmount }),
        action: operation.action ? JSON.stringify(operation.action) : null,
      })
      .where('id', '=', paymentId)
      .where('status', 'in', operation.from)
      .returning(paymentColumns)
      .executeTakeFirst();
    return moved ? normalise(moved) : byId(executor, paymentId);
  },

  /**
   * Reserves a refund named `key` before the provider is asked: under the payment's row lock, so
   * concurrent refunds are decided one after another, the operation is written `pending` and the
   * payment's refunding amount grows, if captured - refunded - refunding still covers it. `wanted`
   * is an amount or `rest` (all that is left). Answers the operation already written under `key`
   * if there is one, or the payment as it stood when nothing could be reserved. Run it in a
   * transaction, which holds the lock.
   */
  async reserveRefund(
    executor: Db,
    paymentId: string,
    key: string,
    wanted: number | 'rest',
  ): Promise<{ operation: OperationRow } | { refused: PaymentRow }> {
    const payment = normalise(
      await tables(executor)
        .selectFrom('payments')
        .select(paymentColumns)
        .where('id', '=', paymentId)
        .forUpdate()
        .executeTakeFirstOrThrow(),
    );
    const already = await paymentsStore.findOperation(executor, key);
    if (already) return { operation: already };
    const left = payment.capturedAmount - payment.refundedAmount - payment.refundingAmount;
    const amount = wanted === 'rest' ? left : wanted;
    const refundable = ['captured', 'partially_captured', 'partially_refunded'].includes(payment.status);
    if (!refundable || amount <= 0 || amount > left) return { refused: payment };
    const operation = await tables(executor)
      .insertInto('payment_operations')
      .values({
        id: uuidv7(),
        payment_id: paymentId,
        kind: 'refund',
        idempotency_key: key,
        amount,
        provider_reference: null,
        state: 'pending',
      })
      .returning(operationColumns)
      .executeTakeFirstOrThrow();
    await tables(executor)
      .updateTable('payments')
      .set({ refunding_amount: sql`refunding_amount + ${amount}`, updated_at: sql<Date>`now()` })
      .where('id', '=', paymentId)
      .execute();
    return { operation: normaliseOperation(operation) };
  },

  /**
   * The provider confirmed a pending refund: it is done and its reservation becomes refunded, in
   * one statement, once however often the answer is applied.
   */
  async settleRefund(executor: Db, paymentId: string, key: string, providerReference: string) {
    return moveRefund(executor, paymentId, key, { state: 'done', providerReference });
  },

  /** The provider refused a pending refund: it failed and its reservation is given back. */
  async releaseRefund(executor: Db, paymentId: string, key: string) {
    return moveRefund(executor, paymentId, key, { state: 'failed', providerReference: null });
  },

  findByAuthorization: async (executor: Db, authorizationId: string): Promise<PaymentRow | undefined> => {
    const row = await tables(executor)
      .selectFrom('payments')
      .select(paymentColumns)
      .where('provider_authorization_id', '=', authorizationId)
      .executeTakeFirst();
    return row && normalise(row);
  },

  async hasWebhookEvent(executor: Db, provider: string, eventId: string): Promise<boolean> {
    const row = await tables(executor)
      .selectFrom('payment_webhook_events')
      .select('event_id')
      .where('provider', '=', provider)
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row !== undefined;
  },

  /** Records a webhook event as applied; false when it was recorded before. */
  async recordWebhookEvent(executor: Db, provider: string, eventId: string, type: string): Promise<boolean> {
    const inserted = await tables(executor)
      .insertInto('payment_webhook_events')
      .values({ provider, event_id: eventId, type })
      .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
      .returning('event_id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  /** Payments the provider knows, not checked for `staleAfterMs`, the longest unchecked first. */
  async toReconcile(executor: Db, limit: number, staleAfterMs: number): Promise<PaymentRow[]> {
    const rows = await tables(executor)
      .selectFrom('payments')
      .select(paymentColumns)
      .where('provider_authorization_id', 'is not', null)
      .where((eb) =>
        eb.or([
          eb('reconciled_at', 'is', null),
          eb('reconciled_at', '<', sql<Date>`now() - ${`${staleAfterMs} milliseconds`}::interval`),
        ]),
      )
      .orderBy(sql`reconciled_at nulls first`)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(normalise);
  },

  async markReconciled(executor: Db, paymentIds: readonly string[]): Promise<void> {
    if (paymentIds.length === 0) return;
    await tables(executor)
      .updateTable('payments')
      .set({ reconciled_at: sql<Date>`now()` })
      .where('id', 'in', [...paymentIds])
      .execute();
  },

  /** Records a disagreement; false when this payment's disagreement of this kind was known already. */
  async recordDrift(
    executor: Db,
    drift: { paymentId: string; orderId: string; kind: DriftKind; ours: unknown; theirs: unknown },
  ): Promise<boolean> {
    const inserted = await tables(executor)
      .insertInto('payment_drift')
      .values({
        id: uuidv7(),
        payment_id: drift.paymentId,
        order_id: drift.orderId,
        kind: drift.kind,
        ours: JSON.stringify(drift.ours),
        theirs: JSON.stringify(drift.theirs),
      })
      .onConflict((oc) => oc.columns(['payment_id', 'kind']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  async drifts(executor: Db, limit: number): Promise<DriftRow[]> {
    const rows = await tables(executor)
      .selectFrom('payment_drift')
      .innerJoin('payments', 'payments.id', 'payment_drift.payment_id')
      .select([
        'payment_drift.id',
        'payment_drift.payment_id as paymentId',
        'payment_drift.order_id as orderId',
        'payment_drift.kind',
        'payment_drift.ours',
        'payment_drift.theirs',
        'payments.currency',
        'payment_drift.found_at as foundAt',
      ])
      .orderBy('payment_drift.found_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ ...row, currency: row.currency.trim() }));
  },

  async markFailed(executor: Db, paymentId: string): Promise<PaymentRow> {
    await tables(executor)
      .updateTable('payments')
      .set({ status: 'failed', updated_at: sql<Date>`now()` })
      .where('id', '=', paymentId)
      .where('status', '=', 'pending')
      .execute();
    return byId(executor, paymentId);
  },

  async operations(executor: Db, paymentId: string): Promise<OperationRow[]> {
    const rows = await tables(executor)
      .selectFrom('payment_operations')
      .select(operationColumns)
      .where('payment_id', '=', paymentId)
      .orderBy('id')
      .execute();
    return rows.map(normaliseOperation);
  },
};
