import { randomInt } from 'node:crypto';
import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, notFound } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { type Amount, formatMoney } from '../../platform/money.ts';
import { hashOpaqueToken } from '../../platform/opaque-token.ts';
import { type EntryKind, type EntryRow, type GiftCardRow, giftCardStore as store } from './store.ts';

/** Letters and digits a person cannot misread (no 0/O, 1/I/L): 32 symbols, 5 bits each. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
/** 16 symbols: 80 random bits, beyond guessing however many tries are made. */
const CODE_LENGTH = 16;

/** The code as typed ("abcd efgh-…") to the form it was issued in, before it is hashed. */
export const normaliseCode = (code: string) => code.toUpperCase().replace(/[\s-]/g, '');

function newCode(): string {
  const symbols = Array.from({ length: CODE_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return symbols.match(/.{4}/g)!.join('-');
}

export interface GiftCard {
  id: string;
  last4: string;
  balance: Amount;
  initialBalance: Amount;
  expiresAt?: string;
  note: string;
  createdAt: string;
}

export interface GiftCardEntry {
  amount: Amount;
  kind: EntryKind;
  orderId?: string;
  reason?: string;
  at: string;
}

/** What an order took from a gift card or from the customer's store credit, and how much went back. */
export interface OrderBalance {
  /** The gift card's last four characters; undefined for store credit. */
  last4?: string;
  amount: number;
  returned: number;
}

/** Where an order's balance comes from: a gift card by its code, or the shopper's store credit. */
export type BalanceSource = { giftCardCode: string } | { storeCreditOf: string };

const toEntry = (entry: EntryRow, currency: string): GiftCardEntry => ({
  amount: { amount: entry.amount, currency },
  kind: entry.kind,
  ...(entry.orderId ? { orderId: entry.orderId } : {}),
  ...(entry.reason ? { reason: entry.reason } : {}),
  at: entry.at.toISOString(),
});

const toGiftCard = (row: GiftCardRow): GiftCard => ({
  id: row.id,
  last4: row.last4,
  balance: { amount: row.balance, currency: row.currency },
  initialBalance: { amount: row.initialBalance, currency: row.currency },
  ...(row.expiresAt ? { expiresAt: row.expiresAt.toISOString() } : {}),
  note: row.note,
  createdAt: row.createdAt.toISOString(),
});

const expired = (row: GiftCardRow) => row.expiresAt !== null && row.expiresAt.getTime() <= Date.now();

/** Gift cards: issued by staff, spent at checkout by their code, credited back by refunds. */
export function createGiftCardService(deps: {
  db: Db;
  storeCurrency: string;
  /** Who the customers are (identity): store credit is only for an account that exists (404 otherwise). */
  accounts: { user(id: string): Promise<unknown> };
}) {
  const { db } = deps;

  /** The balance an order draws on, checked usable for its currency; its name, as sentences say it. */
  async function usable(
    executor: Db,
    source: BalanceSource,
    currency: string,
  ): Promise<{ card: GiftCardRow; name: string }> {
    if ('storeCreditOf' in source) {
      const account = await store.accountOf(executor, source.storeCreditOf);
      if (!account || account.balance === 0)
        throw conflict('STORE_CREDIT_EMPTY', 'You have no store credit to pay with');
      if (account.currency !== currency) {
        throw conflict(
          'STORE_CREDIT_CURRENCY',
          `Your store credit is in ${account.currency}; this order is in ${currency}`,
        );
      }
      return { card: account, name: 'Your store credit' };
    }
    const card = await store.byCodeHash(executor, hashOpaqueToken(normaliseCode(source.giftCardCode)));
    if (!card) throw badRequest('GIFT_CARD_UNKNOWN', 'No gift card has this code; check it and try again');
    if (expired(card)) {
      throw conflict(
        'GIFT_CARD_EXPIRED',
        `The gift card ending ${card.last4} expired on ${card.expiresAt!.toISOString().slice(0, 10)}`,
      );
    }
    if (card.currency !== currency) {
      throw conflict(
        'GIFT_CARD_CURRENCY',
        `The gift card ending ${card.last4} is in ${card.currency}; this order is in ${currency}`,
      );
    }
    if (card.balance === 0)
      throw conflict('GIFT_CARD_EMPTY', `The gift card ending ${card.last4} has nothing left on it`);
    return { card, name: `The gift card ending ${card.last4}` };
  }

  /**
   * Gives back to the card up to `wanted` of what the order took and has not had back, under the
   * lock of the order's redemption (refunds and releases of one order take turns), once per `key`.
   * Answers what this key gave back, the same when asked again.
   */
  async function giveBack(
    tx: Db,
    orderId: string,
    wanted: number | 'rest',
    key: string,
    kind: 'released' | 'refunded',
  ): Promise<number> {
    const redemption = await store.redemptionOf(tx, orderId, true);
    if (!redemption) return 0;
    const before = await store.entryByKey(tx, redemption.cardId, key);
    if (before) return before.amount;
    const left = redemption.amount - redemption.returned;
    const amount = wanted === 'rest' ? left : Math.min(wanted, left);
    if (amount <= 0) return 0;
    await store.moveBalance(tx, {
      cardId: redemption.cardId,
      amount,
      kind,
      key,
      orderId,
      redemption: 'return',
    });
    return amount;
  }

  return {
    /** Issues a card; the code is in this answer only (the shop keeps its hash). */
    async issue(
      actorId: string,
      input: { balance: Amount; expiresAt?: string; note?: string },
    ): Promise<GiftCard & { code: string }> {
      if (input.balance.amount <= 0)
        throw badRequest('INVALID_AMOUNT', 'A gift card needs a balance above zero');
      const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= Date.now())
        throw badRequest('INVALID_EXPIRY', 'A gift card cannot expire in the past');
      const code = newCode();
      const row = await store.insert(db, {
        id: uuidv7(),
        codeHash: hashOpaqueToken(normaliseCode(code)),
        last4: code.slice(-4),
        currency: input.balance.currency,
        balance: input.balance.amount,
        expiresAt,
        note: input.note ?? '',
        createdBy: actorId,
      });
      return { ...toGiftCard(row), code };
    },

    /**
     * Changes a card's expiry or note. An expiry of now or earlier stops the card at once (a lost
     * or stolen card); null makes it never expire.
     */
    async update(id: string, changes: { expiresAt?: string | null; note?: string }): Promise<GiftCard> {
      const row = await store.update(db, id, {
        ...(changes.expiresAt !== undefined
          ? { expiresAt: changes.expiresAt === null ? null : new Date(changes.expiresAt) }
          : {}),
        ...(changes.note !== undefined ? { note: changes.note } : {}),
      });
      if (!row) throw notFound('Gift card');
      return toGiftCard(row);
    },

    async list(query: { page: number; size: number }) {
      const { rows, total } = await store.list(db, {
        offset: (query.page - 1) * query.size,
        limit: query.size,
      });
      return { items: rows.map(toGiftCard), page: query.page, size: query.size, total };
    },

    /** A card with every change to its balance, whose sum is the balance. */
    async get(id: string): Promise<GiftCard & { entries: GiftCardEntry[] }> {
      const row = await store.byId(db, id);
      if (!row) throw notFound('Gift card');
      const entries = await store.entriesOf(db, id);
      return { ...toGiftCard(row), entries: entries.map((entry) => toEntry(entry, row.currency)) };
    },

    /** What is left on a card, for the shopper who holds its code. */
    async balanceOf(code: string): Promise<Pick<GiftCard, 'last4' | 'balance' | 'expiresAt'>> {
      const row = await store.byCodeHash(db, hashOpaqueToken(normaliseCode(code)));
      if (!row) throw notFound('Gift card');
      const card = toGiftCard(row);
      return {
        last4: card.last4,
        balance: card.balance,
        ...(card.expiresAt ? { expiresAt: card.expiresAt } : {}),
      };
    },

    /** A customer's store credit with every change to it (nothing yet: a zero balance). */
    async storeCredit(customerId: string): Promise<{ balance: Amount; entries: GiftCardEntry[] }> {
      await deps.accounts.user(customerId);
      const account = await store.accountOf(db, customerId);
      if (!account) return { balance: { amount: 0, currency: deps.storeCurrency }, entries: [] };
      const entries = await store.entriesOf(db, account.id);
      return {
        balance: { amount: account.balance, currency: account.currency },
        entries: entries.map((entry) => toEntry(entry, account.currency)),
      };
    },

    /**
     * Credits a customer's store credit once per `key` (an exchange's refund that pays its
     * replacement): a repeat after a crash credits nothing more.
     */
    async creditOnce(customerId: string, amount: Amount, key: string, reason: string): Promise<void> {
      const account = await store.openAccount(db, customerId, amount.currency);
      if (account.currency !== amount.currency)
        throw conflict('STORE_CREDIT_CURRENCY', `This customer's store credit is in ${account.currency}`);
      await store.moveBalance(db, {
        cardId: account.id,
        amount: amount.amount,
        kind: 'credited',
        key,
        reason,
      });
    },

    /**
     * Staff credit or debit a customer's store credit (a goodwill gesture, a correction), with
     * the reason. A debit is a conditional update: it never takes the balance below zero.
     */
    async adjustStoreCredit(
      actorId: string,
      customerId: string,
      change: { amount: Amount; reason: string },
    ): Promise<{ balance: Amount; entries: GiftCardEntry[] }> {
      if (change.amount.amount === 0)
        throw badRequest('INVALID_AMOUNT', 'A change of store credit cannot be zero');
      await deps.accounts.user(customerId);
      const account = await store.openAccount(db, customerId, change.amount.currency);
      if (account.currency !== change.amount.currency) {
        throw conflict('STORE_CREDIT_CURRENCY', `This customer's store credit is in ${account.currency}`);
      }
      const moved = await store.moveBalance(db, {
        cardId: account.id,
        amount: change.amount.amount,
        kind: change.amount.amount > 0 ? 'credited' : 'debited',
        key: `staff:${uuidv7()}`,
        actorId,
        reason: change.reason,
      });
      if (!moved) {
        const now = (await store.accountOf(db, customerId))!;
        throw conflict(
          'STORE_CREDIT_INSUFFICIENT',
          `Only ${formatMoney({ amount: now.balance, currency: now.currency })} of store credit is left to take off`,
        );
      }
      return this.storeCredit(customerId);
    },

    /**
     * Takes what the balance has, up to `upTo`, for an order, inside the order's transaction: a
     * conditional update that only succeeds while the balance covers it, read again and retried
     * when a concurrent order spent it first. Answers what was taken, and the balance's name.
     */
    async redeem(
      tx: Db,
      input: { source: BalanceSource; orderId: string; upTo: number; currency: string },
    ): Promise<{ amount: number; name: string }> {
      let { card, name } = await usable(tx, input.source, input.currency);
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const amount = Math.min(card.balance, input.upTo);
        const taken = await store.moveBalance(tx, {
          cardId: card.id,
          amount: -amount,
          kind: 'redeemed',
          key: `order:${input.orderId}`,
          orderId: input.orderId,
          redemption: 'take',
        });
        if (taken) return { amount, name };
        ({ card, name } = await usable(tx, input.source, input.currency));
      }
      throw conflict('BALANCE_BUSY', `${name} is being used for other orders right now; try again`);
    },

    /** Gives back everything an order took and has not had back (its checkout undone), in `tx`. */
    releaseRest: (tx: Db, orderId: string) => giveBack(tx, orderId, 'rest', `release:${orderId}`, 'released'),

    /**
     * A refund's share for the card: up to `amount` of what the order took and has not had back,
     * credited to the card once per `key`. Answers that share; the rest is the provider's.
     */
    creditBack: (orderId: string, amount: number | 'rest', key: string) =>
      transact(db, (tx) => giveBack(tx, orderId, amount, `refund:${key}`, 'refunded')),

    /**
     * Takes back a refund's credit when the rest of that refund was refused: the balance only
     * goes down while it covers the credit (a shopper who spent it meanwhile keeps it, and the
     * answer says so: false).
     */
    async revokeCredit(orderId: string, key: string): Promise<boolean> {
      return transact(db, async (tx) => {
        const redemption = await store.redemptionOf(tx, orderId, true);
        if (!redemption) return true;
        const credit = await store.entryByKey(tx, redemption.cardId, `refund:${key}`);
        if (!credit) return true;
        if (await store.entryByKey(tx, redemption.cardId, `revoke:${key}`)) return true;
        return store.moveBalance(tx, {
          cardId: redemption.cardId,
          amount: -credit.amount,
          kind: 'revoked',
          key: `revoke:${key}`,
          orderId,
          redemption: 'unreturn',
        });
      });
    },

    /** What these orders took from gift cards or store credit, by order. */
    async ofOrders(orderIds: readonly string[], executor: Db = db): Promise<Map<string, OrderBalance>> {
      const rows = await store.redemptionsOf(executor, orderIds);
      return new Map(
        rows.map((row) => [
          row.orderId,
          { ...(row.customerId ? {} : { last4: row.last4 }), amount: row.amount, returned: row.returned },
        ]),
      );
    },
  };
}

export type GiftCardService = ReturnType<typeof createGiftCardService>;
