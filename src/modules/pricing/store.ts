import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';
import type { PromotionKind, PromotionTarget } from './totals.ts';

type PricingTables = {
  promotions: {
    id: string;
    code: string | null;
    name: string | null;
    automatic: Generated<boolean>;
    kind: PromotionKind;
    value: number;
    currency: string | null;
    min_subtotal: number | null;
    starts_at: Date | null;
    ends_at: Date | null;
    usage_limit: number | null;
    per_customer_limit: number | null;
    target: PromotionTarget | null;
    buy_quantity: number | null;
    get_quantity: number | null;
    priority: Generated<number>;
    stackable: Generated<boolean>;
    budget: number | null;
    discount_given: Generated<number>;
    times_used: Generated<number>;
    active: Generated<boolean>;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  promotion_redemptions: {
    promotion_id: string;
    order_id: string;
    user_id: string;
    amount: number;
    redeemed_at: Generated<Date>;
    released_at: Date | null;
  };
  tax_rates: { country: string; rate_basis_points: number; name: string; updated_at: Generated<Date> };
  regions: {
    code: string;
    name: string;
    currency: string;
    tax_inclusive: boolean;
    created_at: Generated<Date>;
  };
  region_countries: { country: string; region_code: string };
  shipping_methods: {
    id: string;
    name: string;
    country: string;
    price_amount: number;
    currency: string;
    min_days: number;
    max_days: number;
    active: Generated<boolean>;
    created_at: Generated<Date>;
  };
};

export interface PromotionRow extends PromotionFields {
  id: string;
  code: string | null;
  timesUsed: number;
  discountGiven: number;
}

export interface PromotionFields {
  name: string | null;
  automatic: boolean;
  kind: PromotionKind;
  value: number;
  currency: string | null;
  minSubtotal: number | null;
  startsAt: Date | null;
  endsAt: Date | null;
  usageLimit: number | null;
  perCustomerLimit: number | null;
  target: PromotionTarget | null;
  buyQuantity: number | null;
  getQuantity: number | null;
  priority: number;
  stackable: boolean;
  budget: number | null;
  active: boolean;
}

export interface RegionRow {
  code: string;
  name: string;
  currency: string;
  taxInclusive: boolean;
  countries: string[];
}

export interface ShippingMethodRow {
  id: string;
  name: string;
  country: string;
  priceAmount: number;
  currency: string;
  minDays: number;
  maxDays: number;
  active: boolean;
}

const tables = (executor: Db): Kysely<PricingTables> => executor.withTables<PricingTables>();

const promotionColumns = [
  'id',
  'code',
  'name',
  'automatic',
  'kind',
  'value',
  'currency',
  'min_subtotal as minSubtotal',
  'starts_at as startsAt',
  'ends_at as endsAt',
  'usage_limit as usageLimit',
  'per_customer_limit as perCustomerLimit',
  'target',
  'buy_quantity as buyQuantity',
  'get_quantity as getQuantity',
  'priority',
  'stackable',
  'budget',
  'discount_given as discountGiven',
  'times_used as timesUsed',
  'active',
] as const;

const shippingColumns = [
  'id',
  'name',
  'country',
  'price_amount as priceAmount',
  'currency',
  'min_days as minDays',
  'max_days as maxDays',
  'active',
] as const;

const promotionValues = (fields: PromotionFields) => ({
  name: fields.name,
  automatic: fields.automatic,
  kind: fields.kind,
  value: fields.value,
  currency: fields.currency,
  min_subtotal: fields.minSubtotal,
  starts_at: fields.startsAt,
  ends_at: fields.endsAt,
  usage_limit: fields.usageLimit,
  per_customer_limit: fields.perCustomerLimit,
  target: fields.target ? (JSON.stringify(fields.target) as unknown as PromotionTarget) : null,
  buy_quantity: fields.buyQuantity,
  get_quantity: fields.getQuantity,
  priority: fields.priority,
  stackable: fields.stackable,
  budget: fields.budget,
  active: fields.active,
});

const shippingValues = (method: Omit<ShippingMethodRow, 'active'>) => ({
  id: method.id,
  name: method.name,
  country: method.country,
  price_amount: method.priceAmount,
  currency: method.currency,
  min_days: method.minDays,
  max_days: method.maxDays,
});

export const pricingStore = {
  async insertPromotion(
    executor: Db,
    id: string,
    code: string | null,
    fields: PromotionFields,
  ): Promise<PromotionRow | null> {
    const row = await tables(executor)
      .insertInto('promotions')
      .values({ id, code, ...promotionValues(fields) })
      .onConflict((conflict) => conflict.column('code').doNothing())
      .returning(promotionColumns)
      .executeTakeFirst();
    return row ?? null;
  },

  updatePromotion(executor: Db, id: string, fields: PromotionFields): Promise<PromotionRow | undefined> {
    return tables(executor)
      .updateTable('promotions')
      .set({ ...promotionValues(fields), updated_at: sql`now()` })
      .where('id', '=', id)
      .returning(promotionColumns)
      .executeTakeFirst();
  },

  promotionById(executor: Db, id: string): Promise<PromotionRow | undefined> {
    return tables(executor)
      .selectFrom('promotions')
      .select(promotionColumns)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  promotionByCode(executor: Db, code: string): Promise<PromotionRow | undefined> {
    return tables(executor)
      .selectFrom('promotions')
      .select(promotionColumns)
      .where('code', '=', code)
      .executeTakeFirst();
  },

  /**
   * What may price a cart, in the order promotions apply: the active automatic ones and the code
   * the shopper entered, if any, by priority (highest first), then by age. One statement.
   */
  promotionsFor(executor: Db, code: string | null): Promise<PromotionRow[]> {
    return tables(executor)
      .selectFrom('promotions')
      .select(promotionColumns)
      .where((eb) =>
        code === null
          ? eb.and([eb('automatic', '=', true), eb('active', '=', true)])
          : eb.or([eb.and([eb('automatic', '=', true), eb('active', '=', true)]), eb('code', '=', code)]),
      )
      .orderBy('priority', 'desc')
      .orderBy('id')
      .execute();
  },

  promotions(executor: Db): Promise<PromotionRow[]> {
    return tables(executor)
      .selectFrom('promotions')
      .select(promotionColumns)
      .orderBy('created_at', 'desc')
      .execute();
  },

  /**
   * Counts one use and `amount` of the budget in a single conditional update — like stock, the
   * limits are checked and taken in the same statement, and the row lock it holds orders
   * concurrent redemptions. Answers the per-customer limit, or undefined when nothing was taken.
   */
  async takeUse(
    executor: Db,
    promotionId: string,
    amount: number,
  ): Promise<{ perCustomerLimit: number | null } | undefined> {
    return tables(executor)
      .updateTable('promotions')
      .set((eb) => ({
        times_used: eb('times_used', '+', 1),
        discount_given: eb('discount_given', '+', amount),
      }))
      .where('id', '=', promotionId)
      .where('active', '=', true)
      .where((eb) => eb.or([eb('usage_limit', 'is', null), eb('times_used', '<', eb.ref('usage_limit'))]))
      .where((eb) =>
        eb.or([eb('budget', 'is', null), eb(eb('discount_given', '+', amount), '<=', eb.ref('budget'))]),
      )
      .returning('per_customer_limit as perCustomerLimit')
      .executeTakeFirst();
  },

  async usesBy(executor: Db, promotionId: string, userId: string): Promise<number> {
    const row = await tables(executor)
      .selectFrom('promotion_redemptions')
      .select(sql<number>`count(*)::int`.as('uses'))
      .where('promotion_id', '=', promotionId)
      .where('user_id', '=', userId)
      .where('released_at', 'is', null)
      .executeTakeFirstOrThrow();
    return row.uses;
  },

  async recordRedemption(
    executor: Db,
    redemption: { promotionId: string; orderId: string; userId: string; amount: number },
  ): Promise<void> {
    await tables(executor)
      .insertInto('promotion_redemptions')
      .values({
        promotion_id: redemption.promotionId,
        order_id: redemption.orderId,
        user_id: redemption.userId,
        amount: redemption.amount,
        released_at: null,
      })
      .execute();
  },

  /**
   * Gives a cancelled order's redemptions back, their uses and what they took of the budget;
   * idempotent (only unreleased rows move). Promotion rows are locked in id order, as redeeming
   * takes them, so a release and a checkout cannot deadlock.
   */
  async releaseRedemption(executor: Db, orderId: string): Promise<void> {
    const released = await tables(executor)
      .updateTable('promotion_redemptions')
      .set({ released_at: sql`now()` })
      .where('order_id', '=', orderId)
      .where('released_at', 'is', null)
      .returning(['promotion_id', 'amount'])
      .execute();
    released.sort((a, b) => (a.promotion_id < b.promotion_id ? -1 : 1));
    for (const { promotion_id, amount } of released) {
      await tables(executor)
        .updateTable('promotions')
        .set((eb) => ({
          times_used: eb('times_used', '-', 1),
          discount_given: eb('discount_given', '-', amount),
        }))
        .where('id', '=', promotion_id)
        .execute();
    }
  },

  async redemptionsOf(executor: Db, promotionId: string): Promise<number> {
    const row = await tables(executor)
      .selectFrom('promotion_redemptions')
      .select(sql<number>`count(*)::int`.as('count'))
      .where('promotion_id', '=', promotionId)
      .where('released_at', 'is', null)
      .executeTakeFirstOrThrow();
    return row.count;
  },

  async putTaxRate(executor: Db, country: string, rateBasisPoints: number, name: string) {
    return tables(executor)
      .insertInto('tax_rates')
      .values({ country, rate_basis_points: rateBasisPoints, name })
      .onConflict((conflict) =>
        conflict
          .column('country')
          .doUpdateSet({ rate_basis_points: rateBasisPoints, name, updated_at: sql`now()` }),
      )
      .returning(['country', 'rate_basis_points as rate', 'name'])
      .executeTakeFirstOrThrow();
  },

  async insertTaxRateIfMissing(executor: Db, country: string, rateBasisPoints: number, name: string) {
    await tables(executor)
      .insertInto('tax_rates')
      .values({ country, rate_basis_points: rateBasisPoints, name })
      .onConflict((conflict) => conflict.column('country').doNothing())
      .execute();
  },

  taxRates(executor: Db) {
    return tables(executor)
      .selectFrom('tax_rates')
      .select(['country', 'rate_basis_points as rate', 'name'])
      .orderBy('country')
      .execute();
  },

  /**
   * What a destination country costs to ship to and how it is taxed, in one statement: its tax
   * rate, whether its region's prices contain tax, and its active shipping methods (every
   * currency), cheapest first, then fastest.
   */
  async destination(
    executor: Db,
    country: string,
  ): Promise<{ taxRateBasisPoints: number; taxInclusive: boolean; methods: ShippingMethodRow[] }> {
    const { rows } = await sql<
      { rate: number | null; taxInclusive: boolean | null } & {
        [K in keyof ShippingMethodRow]: ShippingMethodRow[K] | null;
      }
    >`
      select t.rate_basis_points as rate, r.tax_inclusive as "taxInclusive", m.id, m.name, m.country,
             m.price_amount as "priceAmount", m.currency, m.min_days as "minDays",
             m.max_days as "maxDays", m.active
      from (select ${country}::text as country) d
      left join tax_rates t on t.country = d.country
      left join region_countries rc on rc.country = d.country
      left join regions r on r.code = rc.region_code
      left join shipping_methods m on m.country = d.country and m.active
      order by m.price_amount, m.max_days, m.name, m.id`.execute(executor);
    return {
      taxRateBasisPoints: rows[0]?.rate ?? 0,
      taxInclusive: rows[0]?.taxInclusive ?? false,
      methods: rows.filter((row) => row.id !== null) as ShippingMethodRow[],
    };
  },

  /** Every region with its countries, by code. */
  async regions(executor: Db, code?: string): Promise<RegionRow[]> {
    let query = tables(executor)
      .selectFrom('regions as r')
      .leftJoin('region_countries as c', 'c.region_code', 'r.code')
      .select(['r.code', 'r.name', 'r.currency', 'r.tax_inclusive as taxInclusive', 'c.country'])
      .orderBy('r.code')
      .orderBy('c.country');
    if (code) query = query.where('r.code', '=', code);
    const regions = new Map<string, RegionRow>();
    for (const { country, ...region } of await query.execute()) {
      const row = regions.get(region.code) ?? { ...region, countries: [] };
      if (country) row.countries.push(country);
      regions.set(region.code, row);
    }
    return [...regions.values()];
  },

  /** Which of `countries` another region than `code` holds already, with that region. */
  countriesElsewhere(executor: Db, countries: readonly string[], code: string) {
    if (countries.length === 0) return Promise.resolve([]);
    return tables(executor)
      .selectFrom('region_countries')
      .select(['country', 'region_code as region'])
      .where('country', 'in', [...countries])
      .where('region_code', '<>', code)
      .orderBy('country')
      .execute();
  },

  /** Writes a region and replaces its countries (a new region when the code is new). */
  async saveRegion(executor: Db, region: RegionRow): Promise<void> {
    await tables(executor)
      .insertInto('regions')
      .values({
        code: region.code,
        name: region.name,
        currency: region.currency,
        tax_inclusive: region.taxInclusive,
      })
      .onConflict((conflict) =>
        conflict.column('code').doUpdateSet({
          name: region.name,
          currency: region.currency,
          tax_inclusive: region.taxInclusive,
        }),
      )
      .execute();
    await tables(executor).deleteFrom('region_countries').where('region_code', '=', region.code).execute();
    if (region.countries.length > 0)
      await tables(executor)
        .insertInto('region_countries')
        .values(region.countries.map((country) => ({ country, region_code: region.code })))
        .execute();
  },

  async deleteRegion(executor: Db, code: string): Promise<boolean> {
    const result = await tables(executor).deleteFrom('regions').where('code', '=', code).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  },

  insertShippingMethod(executor: Db, method: Omit<ShippingMethodRow, 'active'>) {
    return tables(executor)
      .insertInto('shipping_methods')
      .values(shippingValues(method))
      .returning(shippingColumns)
      .executeTakeFirstOrThrow();
  },

  /** Inserts a method unless one with its id exists (which is left as it is). */
  async insertShippingMethodIfMissing(executor: Db, method: Omit<ShippingMethodRow, 'active'>) {
    await tables(executor)
      .insertInto('shipping_methods')
      .values(shippingValues(method))
      .onConflict((conflict) => conflict.column('id').doNothing())
      .execute();
  },

  updateShippingMethod(executor: Db, id: string, fields: Partial<Omit<ShippingMethodRow, 'id'>>) {
    return tables(executor)
      .updateTable('shipping_methods')
      .set({
        ...(fields.name !== undefined ? { name: fields.name } : {}),
        ...(fields.country !== undefined ? { country: fields.country } : {}),
        ...(fields.priceAmount !== undefined ? { price_amount: fields.priceAmount } : {}),
        ...(fields.currency !== undefined ? { currency: fields.currency } : {}),
        ...(fields.minDays !== undefined ? { min_days: fields.minDays } : {}),
        ...(fields.maxDays !== undefined ? { max_days: fields.maxDays } : {}),
        ...(fields.active !== undefined ? { active: fields.active } : {}),
      })
      .where('id', '=', id)
      .returning(shippingColumns)
      .executeTakeFirst();
  },

  shippingMethod(executor: Db, id: string): Promise<ShippingMethodRow | undefined> {
    return tables(executor)
      .selectFrom('shipping_methods')
      .select(shippingColumns)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  shippingMethods(executor: Db, country?: string): Promise<ShippingMethodRow[]> {
    let query = tables(executor)
      .selectFrom('shipping_methods')
      .select(shippingColumns)
      .where('active', '=', true);
    if (country) query = query.where('country', '=', country);
    return query.orderBy('price_amount').orderBy('name').execute();
  },
};
