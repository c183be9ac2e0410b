import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';

type CartTables = {
  carts: {
    id: string;
    shopper_id: string;
    guest_token_hash: string | null;
    expires_at: Date | null;
    currency: Generated<string>;
    promotion_code: string | null;
    shipping_method_id: string | null;
    shipping_address: unknown;
    region: string | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  cart_items: {
    id: string;
    cart_id: string;
    variant_id: string;
    quantity: number;
    added_at: Generated<Date>;
  };
};

export interface CartLineRow {
  id: string;
  variantId: string;
  quantity: number;
}

/** Where a cart ships: the country decides tax and shipping; the rest is kept for checkout. */
export interface Destination {
  country: string;
  name?: string;
  line1?: string;
  line2?: string;
  city?: string;
  postalCode?: string;
}

/** The cart row: what the shopper chose besides the lines. */
export interface CartHeader {
  id: string;
  currency: string;
  promotionCode: string | null;
  shippingMethodId: string | null;
  shippingAddress: Destination | null;
  /** The region the shopper chose (a region's code), or the one their address is in. */
  region: string | null;
}

export interface CartContents extends CartHeader {
  lines: CartLineRow[];
}

const tables = (executor: Db): Kysely<CartTables> => executor.withTables<CartTables>();

/** Most units one line holds (the table's check says the same). */
export const MAX_LINE_QUANTITY = 99;

const headerColumns = [
  'carts.id',
  'carts.currency',
  'carts.promotion_code as promotionCode',
  'carts.shipping_method_id as shippingMethodId',
  'carts.shipping_address as shippingAddress',
  'carts.region',
] as const;

// PGlite may return jsonb as text; node-postgres parses it.
const destinationOf = (value: unknown): Destination | null =>
  typeof value === 'string' ? (JSON.parse(value) as Destination) : ((value as Destination | null) ?? null);

export const cartStore = {
  /** The shopper's cart, created on first use; concurrent first uses converge on one row. */
  async ensureCart(executor: Db, shopperId: string): Promise<CartHeader> {
    return (await cartStore.findCart(executor, shopperId)) ?? cartStore.createCart(executor, shopperId);
  },

  /** A new cart for the shopper, or the one a concurrent request made first. */
  async createCart(executor: Db, shopperId: string): Promise<CartHeader> {
    const made = await tables(executor)
      .insertInto('carts')
      .values({
        id: uuidv7(),
        shopper_id: shopperId,
        promotion_code: null,
        shipping_method_id: null,
        shipping_address: null,
        region: null,
      })
      .onConflict((conflict) => conflict.column('shopper_id').doNothing())
      .returning(headerColumns)
      .executeTakeFirst();
    if (made) return { ...made, shippingAddress: destinationOf(made.shippingAddress) };
    return (await cartStore.findCart(executor, shopperId))!;
  },

  async findCart(executor: Db, shopperId: string): Promise<CartHeader | undefined> {
    const row = await tables(executor)
      .selectFrom('carts')
      .select(headerColumns)
      .where('shopper_id', '=', shopperId)
      .executeTakeFirst();
    return row && { ...row, shippingAddress: destinationOf(row.shippingAddress) };
  },

  /** The cart and its lines in one query, in the order they were added; undefined before first use. */
  async contents(executor: Db, shopperId: string): Promise<CartContents | undefined> {
    const rows = await tables(executor)
      .selectFrom('carts')
      .leftJoin('cart_items', 'cart_items.cart_id', 'carts.id')
      .select([
        ...headerColumns,
        'cart_items.id as lineId',
        'cart_items.variant_id as variantId',
        'cart_items.quantity',
      ])
      .where('carts.shopper_id', '=', shopperId)
      .orderBy('cart_items.added_at')
      .orderBy('cart_items.id')
      .execute();
    if (rows.length === 0) return undefined;
    const [{ id, currency, promotionCode, shippingMethodId, shippingAddress, region }] = rows;
    const lines: CartLineRow[] = [];
    for (const row of rows) {
      if (row.lineId) lines.push({ id: row.lineId, variantId: row.variantId!, quantity: row.quantity! });
    }
    return {
      id,
      currency,
      promotionCode,
      shippingMethodId,
      shippingAddress: destinationOf(shippingAddress),
      region,
      lines,
    };
  },

  lines(executor: Db, cartId: string): Promise<CartLineRow[]> {
    return tables(executor)
      .selectFrom('cart_items')
      .select(['id', 'variant_id as variantId', 'quantity'])
      .where('cart_id', '=', cartId)
      .orderBy('added_at')
      .orderBy('id')
      .execute();
  },

  line(executor: Db, cartId: string, lineId: string): Promise<CartLineRow | undefined> {
    return tables(executor)
      .selectFrom('cart_items')
      .select(['id', 'variant_id as variantId', 'quantity'])
      .where('cart_id', '=', cartId)
      .where('id', '=', lineId)
      .executeTakeFirst();
  },

  /** Sets the variant's line to `quantity` (adding it if new) and touches the cart, in one statement; returns the line id. */
  async upsertLine(executor: Db, cartId: string, variantId: string, quantity: number): Promise<string> {
    const line = await tables(executor)
      .with('line', (db) =>
        db
          .insertInto('cart_items')
          .values({ id: uuidv7(), cart_id: cartId, variant_id: variantId, quantity })
          .onConflict((conflict) => conflict.columns(['cart_id', 'variant_id']).doUpdateSet({ quantity }))
          .returning('id'),
      )
      .with('touched', (db) =>
        db.updateTable('carts').set({ updated_at: sql`now()` }).where('id', '=', cartId).returning('id'),
      )
      .selectFrom('line')
      .select('line.id')
      .executeTakeFirstOrThrow();
    return line.id;
  },

  async setQuantity(executor: Db, cartId: string, lineId: string, quantity: number): Promise<boolean> {
    const result = await tables(executor)
      .updateTable('cart_items')
      .set({ quantity })
      .where('cart_id', '=', cartId)
      .where('id', '=', lineId)
      .executeTakeFirst();
    await cartStore.touch(executor, cartId);
    return result.numUpdatedRows > 0n;
  },

  async deleteLine(executor: Db, cartId: string, lineId: string): Promise<boolean> {
    const result = await tables(executor)
      .deleteFrom('cart_items')
      .where('cart_id', '=', cartId)
      .where('id', '=', lineId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  },

  /**
   * Empties the cart: its lines, and the code and shipping method chosen for them (a code left
   * behind would show as applied, or spent, on the next cart). Its currency and address stay.
   */
  async clear(executor: Db, shopperId: string): Promise<void> {
    await tables(executor)
      .with('emptied', (db) =>
        db
          .deleteFrom('cart_items')
          .where('cart_id', 'in', (eb) =>
            eb.selectFrom('carts').select('id').where('shopper_id', '=', shopperId),
          )
          .returning('id'),
      )
      .updateTable('carts')
      .set({ promotion_code: null, shipping_method_id: null, updated_at: sql`now()` })
      .where('shopper_id', '=', shopperId)
      .execute();
  },

  /**
   * Puts lines back (a checkout that failed gives the cart back): each variant's line holds at
   * least the given quantity, so restoring twice changes nothing; a choice the cart has made
   * since is kept. Creates the cart if it has gone.
   */
  async restore(
    executor: Db,
    shopperId: string,
    lines: ReadonlyArray<{ variantId: string; quantity: number }>,
    choices: {
      promotionCode: string | null;
      shippingMethodId: string | null;
      shippingAddress: Destination | null;
    },
  ): Promise<void> {
    const cart = await cartStore.ensureCart(executor, shopperId);
    if (lines.length > 0) {
      await tables(executor)
        .insertInto('cart_items')
        .values(
          lines.map((line) => ({
            id: uuidv7(),
            cart_id: cart.id,
            variant_id: line.variantId,
            quantity: Math.min(line.quantity, MAX_LINE_QUANTITY),
          })),
        )
        .onConflict((conflict) =>
          conflict
            .columns(['cart_id', 'variant_id'])
            .doUpdateSet({ quantity: sql`greatest(cart_items.quantity, excluded.quantity)` }),
        )
        .execute();
    }
    await tables(executor)
      .updateTable('carts')
      .set({
        promotion_code: sql`coalesce(promotion_code, ${choices.promotionCode})`,
        shipping_method_id: sql`coalesce(shipping_method_id, ${choices.shippingMethodId}::uuid)`,
        shipping_address: sql`coalesce(shipping_address, ${
          choices.shippingAddress ? JSON.stringify(choices.shippingAddress) : null
        }::jsonb)`,
        updated_at: sql`now()`,
      })
      .where('id', '=', cart.id)
      .execute();
  },

  /** A guest's cart, made with its token's hash; it expires at `expiresAt` unless used again. */
  async createGuest(
    executor: Db,
    guest: { id: string; shopperId: string; tokenHash: string; expiresAt: Date },
  ): Promise<void> {
    await tables(executor)
      .insertInto('carts')
      .values({
        id: guest.id,
        shopper_id: guest.shopperId,
        guest_token_hash: guest.tokenHash,
        expires_at: guest.expiresAt,
        promotion_code: null,
        shipping_method_id: null,
        shipping_address: null,
        region: null,
      })
      .execute();
  },

  /**
   * The guest whose unexpired cart the token's hash names, with its expiry pushed to `expiresAt`
   * in the same statement: a cart in use does not expire under its shopper.
   */
  async useGuest(executor: Db, tokenHash: string, expiresAt: Date): Promise<string | undefined> {
    const row = await tables(executor)
      .updateTable('carts')
      .set({ expires_at: expiresAt })
      .where('guest_token_hash', '=', tokenHash)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning('shopper_id as shopperId')
      .executeTakeFirst();
    return row?.shopperId;
  },

  /** Deletes up to `limit` expired guest carts (their lines go with them); returns how many. */
  async sweepExpired(executor: Db, limit: number): Promise<number> {
    const result = await tables(executor)
      .deleteFrom('carts')
      .where('id', 'in', (eb) =>
        eb.selectFrom('carts').select('id').where('expires_at', '<=', sql<Date>`now()`).limit(limit),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },

  /** Deletes a cart by its shopper (a guest's, once merged into a user's). */
  async remove(executor: Db, shopperId: string): Promise<void> {
    await tables(executor).deleteFrom('carts').where('shopper_id', '=', shopperId).execute();
  },

  async touch(executor: Db, cartId: string): Promise<void> {
    await tables(executor)
      .updateTable('carts')
      .set({ updated_at: sql`now()` })
      .where('id', '=', cartId)
      .execute();
  },
};

export const cartChoices = {
  async set(
    executor: Db,
    cartId: string,
    choices: {
      currency?: string;
      promotionCode?: string | null;
      shippingMethodId?: string | null;
      shippingAddress?: Destination;
      region?: string | null;
    },
  ): Promise<void> {
    await tables(executor)
      .updateTable('carts')
      .set({
        ...(choices.currency !== undefined ? { currency: choices.currency } : {}),
        ...(choices.promotionCode !== undefined ? { promotion_code: choices.promotionCode } : {}),
        ...(choices.shippingMethodId !== undefined ? { shipping_method_id: choices.shippingMethodId } : {}),
        ...(choices.shippingAddress !== undefined
          ? { shipping_address: JSON.stringify(choices.shippingAddress) }
          : {}),
        ...(choices.region !== undefined ? { region: choices.region } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', cartId)
      .execute();
  },
};
