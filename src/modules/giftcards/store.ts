import { type Generated, type Kysely, sql } from 'kysely';
import { type Db, pageOf } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';

type GiftCardTables = {
  gift_cards: {
    id: string;
    /** A gift card's; null for a customer's store credit. */
    code_hash: string | null;
    /** The customer whose store credit this is; null for a gift card. */
    customer_id: string | null;
    last4: string;
    currency: string;
    initial_balance: number;
    balance: number;
    expires_at: Date | null;
    note: string;
    created_by: string;
    created_at: Generated<Date>;
  };
  gift_card_entries: {
    id: string;
    gift_card_id: string;
    amount: number;
    kind: EntryKind;
    order_id: string | null;
    key: string;
    actor_id: string | null;
    reason: Generated<string>;
    at: Generated<Date>;
  };
  gift_card_redemptions: {
    order_id: string;
    gift_card_id: string;
    amount: number;
    returned: Generated<number>;
  };
};

export type EntryKind = 'issued' | 'redeemed' | 'released' | 'refunded' | 'revoked' | 'credited' | 'debited';

export interface GiftCardRow {
  id: string;
  last4: string;
  currency: string;
  initialBalance: number;
  balance: number;
  expiresAt: Date | null;
  note: string;
  createdAt: Date;
}

export interface EntryRow {
  amount: number;
  kind: EntryKind;
  orderId: string | null;
  reason: string;
  at: Date;
}

const tables = (executor: Db): Kysely<GiftCardTables> => executor.withTables<GiftCardTables>();

const cardColumns = [
  'id',
  'last4',
  'currency',
  'initial_balance as initialBalance',
  'balance',
  'expires_at as expiresAt',
  'note',
  'created_at as createdAt',
] as const;

// bigint columns come back as strings from node-postgres: amounts are read as numbers.
const toCard = (row: GiftCardRow): GiftCardRow => ({
  ...row,
  initialBalance: Number(row.initialBalance),
  balance: Number(row.balance),
});

/**
 * Moves a card's balance by `amount` (signed) and books the entry, in one statement, once per
 * `key`. A debit is conditional on the balance covering it; with `redemption`, the order's
 * redemption row moves too (taken, or given back), conditional on staying within what was taken.
 * Answers false when a condition failed or the key was booked before.
 */
async function moveBalance(
  executor: Db,
  change: {
    cardId: string;
    amount: number;
    kind: EntryKind;
    key: string;
    orderId?: string;
    actorId?: string;
    /** Why staff changed a store credit. */
    reason?: string;
    redemption?: 'take' | 'return' | 'unreturn';
  },
): Promise<boolean> {
  const { cardId, amount } = change;
  const orderId = change.orderId ?? null;
  const redemption =
    change.redemption === 'take'
      ? sql`, redeemed as (
          insert into gift_card_redemptions (order_id, gift_card_id, amount)
          select ${orderId}::uuid, ${cardId}::uuid, ${-amount}::bigint from card)`
      : change.redemption
        ? sql`, redeemed as (
          update gift_card_redemptions set returned = returned + ${change.redemption === 'return' ? amount : -amount}::bigint
          where order_id = ${orderId}::uuid and exists (select 1 from card))`
        : sql``;
  const { rows } = await sql<{ id: string }>`
    with fresh as (
      select 1 where not exists (
        select 1 from gift_card_entries where gift_card_id = ${cardId}::uuid and key = ${change.key}::text)
    ), card as (
      update gift_cards set balance = balance + ${amount}::bigint
      where id = ${cardId}::uuid and balance + ${amount}::bigint >= 0 and exists (select 1 from fresh)
      returning id
    ), entry as (
      insert into gift_card_entries (id, gift_card_id, amount, kind, order_id, key, actor_id, reason)
      select ${uuidv7()}::uuid, id, ${amount}::bigint, ${change.kind}::text, ${orderId}::uuid,
             ${change.key}::text, ${change.actorId ?? null}::uuid, ${change.reason ?? ''}::text
      from card
    )${redemption}
    select id from card`.execute(tables(executor));
  return rows.length > 0;
}

/** All SQL of the gift cards module. Every function takes the executor: a pool or a transaction. */
export const giftCardStore = {
  moveBalance,

  async insert(
    executor: Db,
    card: {
      id: string;
      codeHash: string;
      last4: string;
      currency: string;
      balance: number;
      expiresAt: Date | null;
      note: string;
      createdBy: string;
    },
  ): Promise<GiftCardRow> {
    const { rows } = await sql<GiftCardRow>`
      with card as (
        insert into gift_cards (id, code_hash, last4, currency, initial_balance, balance, expires_at, note, created_by)
        values (${card.id}::uuid, ${card.codeHash}, ${card.last4}, ${card.currency}, ${card.balance}::bigint,
                ${card.balance}::bigint, ${card.expiresAt}::timestamptz, ${card.note}, ${card.createdBy}::uuid)
        returning *
      ), entry as (
        insert into gift_card_entries (id, gift_card_id, amount, kind, key, actor_id)
        select ${uuidv7()}::uuid, id, balance, 'issued', 'issued', created_by from card
      )
      select id, last4, currency, initial_balance as "initialBalance", balance, expires_at as "expiresAt",
             note, created_at as "createdAt"
      from card`.execute(tables(executor));
    return toCard(rows[0]!);
  },

  async byCodeHash(executor: Db, codeHash: string): Promise<GiftCardRow | undefined> {
    const row = await tables(executor)
      .selectFrom('gift_cards')
      .select(cardColumns)
      .where('code_hash', '=', codeHash)
      .executeTakeFirst();
    return row && toCard(row);
  },

  /** A customer's store credit account, opened (at nothing) when it is first needed. */
  async openAccount(executor: Db, customerId: string, currency: string): Promise<GiftCardRow> {
    await sql`
      insert into gift_cards (id, customer_id, last4, currency, initial_balance, balance, created_by)
      values (${uuidv7()}::uuid, ${customerId}::uuid, '', ${currency}, 0, 0, ${customerId}::uuid)
      on conflict (customer_id) do nothing`.execute(tables(executor));
    return (await giftCardStore.accountOf(executor, customerId))!;
  },

  async accountOf(executor: Db, customerId: string): Promise<GiftCardRow | undefined> {
    const row = await tables(executor)
      .selectFrom('gift_cards')
      .select(cardColumns)
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
    return row && toCard(row);
  },

  async byId(executor: Db, id: string): Promise<GiftCardRow | undefined> {
    const row = await tables(executor)
      .selectFrom('gift_cards')
      .select(cardColumns)
      .where('id', '=', id)
      .where('customer_id', 'is', null)
      .executeTakeFirst();
    return row && toCard(row);
  },

  async list(executor: Db, page: { offset: number; limit: number }) {
    const { rows, total } = await pageOf(
      tables(executor).selectFrom('gift_cards').where('customer_id', 'is', null),
      (query) => query.select(cardColumns),
      page,
    );
    return { rows: rows.map(toCard), total };
  },

  async update(
    executor: Db,
    id: string,
    changes: { expiresAt?: Date | null; note?: string },
  ): Promise<GiftCardRow | undefined> {
    const row = await tables(executor)
      .updateTable('gift_cards')
      .set({
        ...(changes.expiresAt !== undefined ? { expires_at: changes.expiresAt } : {}),
        ...(changes.note !== undefined ? { note: changes.note } : {}),
      })
      .where('id', '=', id)
      .where('customer_id', 'is', null)
      .returning(cardColumns)
      .executeTakeFirst();
    return row && toCard(row);
  },

  async entriesOf(executor: Db, cardId: string): Promise<EntryRow[]> {
    const rows = await tables(executor)
      .selectFrom('gift_card_entries')
      .select(['amount', 'kind', 'order_id as orderId', 'reason', 'at'])
      .where('gift_card_id', '=', cardId)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map((row) => ({ ...row, amount: Number(row.amount) }));
  },

  /** An order's redemption, locked when `forUpdate`: refunds and releases of one order take turns. */
  async redemptionOf(executor: Db, orderId: string, forUpdate = false) {
    let query = tables(executor)
      .selectFrom('gift_card_redemptions as r')
      .innerJoin('gift_cards as c', 'c.id', 'r.gift_card_id')
      .select([
        'r.gift_card_id as cardId',
        'r.amount',
        'r.returned',
        'c.last4',
        'c.customer_id as customerId',
      ])
      .where('r.order_id', '=', orderId);
    if (forUpdate) query = query.forUpdate('r');
    const row = await query.executeTakeFirst();
    return row && { ...row, amount: Number(row.amount), returned: Number(row.returned) };
  },

  /** What the orders took from gift cards (orders without a card are left out). */
  async redemptionsOf(executor: Db, orderIds: readonly string[]) {
    if (orderIds.length === 0) return [];
    const rows = await tables(executor)
      .selectFrom('gift_card_redemptions as r')
      .innerJoin('gift_cards as c', 'c.id', 'r.gift_card_id')
      .select(['r.order_id as orderId', 'r.amount', 'r.returned', 'c.last4', 'c.customer_id as customerId'])
      .where('r.order_id', 'in', orderIds)
      .execute();
    return rows.map((row) => ({ ...row, amount: Number(row.amount), returned: Number(row.returned) }));
  },

  /** The entry booked under `key` on a card, if any. */
  async entryByKey(executor: Db, cardId: string, key: string) {
    const row = await tables(executor)
      .selectFrom('gift_card_entries')
      .select(['amount', 'kind'])
      .where('gift_card_id', '=', cardId)
      .where('key', '=', key)
      .executeTakeFirst();
    return row && { ...row, amount: Number(row.amount) };
  },
};
