import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';

export type PaymentStatus =
  | 'pending'
  | 'authorized'
  | 'declined'
  | 'captured'
  | 'voided'
  | 'refunded'
  | 'partially_refunded'
  | 'failed';

export type OperationKind = 'authorize' | 'decline' | 'capture' | 'void' | 'reversal' | 'refund';

interface PaymentsTable {
  id: string;
  order_id: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  provider_authorization_id: string | null;
  captured_amount: Generated<number>;
  refunded_amount: Generated<number>;
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
  created_at: Generated<Date>;
}

type PaymentTables = {
  payments: PaymentsTable;
  payment_operations: PaymentOperationsTable;
};

export interface PaymentRow {
  id: string;
  orderId: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  providerAuthorizationId: string | null;
  capturedAmount: number;
  refundedAmount: number;
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
  createdAt: Date;
}

const paymentColumns = [
  'id',
  'order_id as orderId',
  'status',
  'amount',
  'currency',
  'provider_authorization_id as providerAuthorizationId',
  'captured_amount as capturedAmount',
  'refunded_amount as refundedAmount',
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
  /** The provider's running refund total; the row keeps the largest seen, so late answers cannot lower it. */
  refundedAmount?: number;
}

// pg parses int8 to number; PGlite may hand back bigint. Amounts fit in a double.
const normalise = (row: PaymentRow): PaymentRow => ({
  ...row,
  amount: Number(row.amount),
  capturedAmount: Number(row.capturedAmount),
  refundedAmount: Number(row.refundedAmount),
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
    const refunded = operation.refundedAmount;
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
        status:
          refunded === undefined
            ? operation.status
            : sql<PaymentStatus>`case when greatest(refunded_amount, ${refunded}) >= captured_amount
                    then 'refunded' else 'partially_refunded' end`,
        updated_at: sql<Date>`now()`,
        ...(operation.providerAuthorizationId && {
          provider_authorization_id: operation.providerAuthorizationId,
        }),
        ...(operation.capturedAmount !== undefined && { captured_amount: operation.capturedAmount }),
        ...(refunded !== undefined && {
          refunded_amount: sql<number>`greatest(refunded_amount, ${refunded})`,
        }),
      })
      .where('id', '=', paymentId)
      .where('status', 'in', operation.from)
      .returning(paymentColumns)
      .executeTakeFirst();
    return moved ? normalise(moved) : byId(executor, paymentId);
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
