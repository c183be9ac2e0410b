import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';

type CartTables = {
  carts: {
    id: string;
    user_id: string;
    currency: Generated<string>;
    promotion_code: string | null;
    shipping_method_id: string | null;
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

const tables = (executor: Db): Kysely<CartTables> => executor.withTables<CartTables>();

export const cartStore = {
  /** The user's cart, created on first use; concurrent first uses converge on one row. */
  async ensureCart(executor: Db, userId: string): Promise<{ id: string; currency: string }> {
    await tables(executor)
      .insertInto('carts')
      .values({ id: uuidv7(), user_id: userId, promotion_code: null, shipping_method_id: null })
      .onConflict((conflict) => conflict.column('user_id').doNothing())
      .execute();
    return tables(executor)
      .selectFrom('carts')
      .select(['id', 'currency'])
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
  },

  findCart(executor: Db, userId: string) {
    return tables(executor)
      .selectFrom('carts')
      .select(['id', 'currency'])
      .where('user_id', '=', userId)
      .executeTakeFirst();
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

  lineForVariant(executor: Db, cartId: string, variantId: string): Promise<CartLineRow | undefined> {
    return tables(executor)
      .selectFrom('cart_items')
      .select(['id', 'variant_id as variantId', 'quantity'])
      .where('cart_id', '=', cartId)
      .where('variant_id', '=', variantId)
      .executeTakeFirst();
  },

  async upsertLine(executor: Db, cartId: string, variantId: string, quantity: number): Promise<void> {
    await tables(executor)
      .insertInto('cart_items')
      .values({ id: uuidv7(), cart_id: cartId, variant_id: variantId, quantity })
      .onConflict((conflict) => conflict.columns(['cart_id', 'variant_id']).doUpdateSet({ quantity }))
      .execute();
    await cartStore.touch(executor, cartId);
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

  async clear(executor: Db, userId: string): Promise<void> {
    await tables(executor)
      .deleteFrom('cart_items')
      .where('cart_id', 'in', (eb) => eb.selectFrom('carts').select('id').where('user_id', '=', userId))
      .execute();
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
  get(executor: Db, cartId: string) {
    return tables(executor)
      .selectFrom('carts')
      .select(['currency', 'promotion_code as promotionCode', 'shipping_method_id as shippingMethodId'])
      .where('id', '=', cartId)
      .executeTakeFirstOrThrow();
  },

  async set(
    executor: Db,
    cartId: string,
    choices: { currency?: string; promotionCode?: string | null; shippingMethodId?: string | null },
  ): Promise<void> {
    await tables(executor)
      .updateTable('carts')
      .set({
        ...(choices.currency !== undefined ? { currency: choices.currency } : {}),
        ...(choices.promotionCode !== undefined ? { promotion_code: choices.promotionCode } : {}),
        ...(choices.shippingMethodId !== undefined ? { shipping_method_id: choices.shippingMethodId } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', cartId)
      .execute();
  },
};
