import { type Generated, type Kysely, sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { type Db, jsonValue } from '../../platform/db/index.ts';
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
  tax_rates: {
    country: string;
    tax_class: Generated<string>;
    rate_basis_points: number;
    name: string;
    updated_at: Generated<Date>;
  };
  tax_classes: { code: string; name: string; created_at: Generated<Date> };
  price_lists: {
    id: string;
    name: string;
    customer_group: string | null;
    starts_at: Date | null;
    ends_at: Date | null;
    active: Generated<boolean>;
    created_at: Generated<Date>;
  };
  price_list_prices: {
    price_list_id: string;
    variant_id: string;
    currency: string;
    amount: number;
    min_quantity: number;
  };
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

export interface TaxRateRow {
  country: string;
  taxClass: string;
  /** Basis points: 1900 is 19 %. */
  rate: number;
  name: string;
}

export interface PriceListRow {
  id: string;
  name: string;
  customerGroup: string | null;
  startsAt: Date | null;
  endsAt: Date | null;
  active: boolean;
  prices: Array<{ variantId: string; amount: { amount: number; currency: string }; minQuantity: number }>;
}

/** A list price that may apply to a cart line now: the list's group decides whose cart it is. */
export interface ListPriceRow {
  priceListId: string;
  name: string;
  customerGroup: string | null;
  variantId: string;
  amount: number;
  minQuantity: number;
}

/** The region a country is in, as a cart shows it. */
export interface RegionSummary {
  code: string;
  name: string;
  currency: string;
  taxInclusive: boolean;
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

const taxRateColumns = ['country', 'tax_class as taxClass', 'rate_basis_points as rate', 'name'] as const;

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

/** A region as a cart shows it: code, name, currency and whether its prices contain tax. */
const regionSummaryColumns = ['r.code', 'r.name', 'r.currency', 'r.tax_inclusive as taxInclusive'] as const;

/** A destination country's tax and shipping, as `destination` reads it. */
export interface Destination {
  taxRates: Map<string, number>;
  taxInclusive: boolean;
  region?: RegionSummary;
  methods: ShippingMethodRow[];
}

type DestinationRow = {
  classes: string[];
  rates: number[];
  taxInclusive: boolean | null;
  regionCode: string | null;
  regionName: string | null;
  regionCurrency: string | null;
} & { [K in keyof ShippingMethodRow]: ShippingMethodRow[K] | null };

/** One row per active shipping method of the country (one with none when it has none), each with its tax. */
const destinationQuery = (country: string) => sql<DestinationRow>`
  select array(select t.tax_class from tax_rates t where t.country = d.country order by t.tax_class) as classes,
         array(select t.rate_basis_points from tax_rates t where t.country = d.country order by t.tax_class) as rates,
         r.tax_inclusive as "taxInclusive", r.code as "regionCode", r.name as "regionName",
         r.currency as "regionCurrency", m.id, m.name, m.country,
         m.price_amount as "priceAmount", m.currency, m.min_days as "minDays",
         m.max_days as "maxDays", m.active
  from (select ${country}::text as country) d
  left join region_countries rc on rc.country = d.country
  left join regions r on r.code = rc.region_code
  left join shipping_methods m on m.country = d.country and m.active
  order by m.price_amount, m.max_days, m.name, m.id`;

function toDestination(rows: DestinationRow[]): Destination {
  const first = rows[0];
  return {
    taxRates: new Map(first?.classes.map((taxClass, index) => [taxClass, first.rates[index]]) ?? []),
    taxInclusive: first?.taxInclusive ?? false,
    ...(first?.regionCode && {
      region: {
        code: first.regionCode,
        name: first.regionName!,
        currency: first.regionCurrency!,
        taxInclusive: first.taxInclusive ?? false,
      },
    }),
    methods: rows.filter((row) => row.id !== null) as ShippingMethodRow[],
  };
}

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
   * What prices a cart besides its shelf prices, in one statement: the lines' active, in-window
   * price-list prices in `currency`, and the promotions that may apply (the active automatic
   * ones and the shopper's code), in the order they apply; and, given the country, the destination's tax and
   * shipping (as `destination` reads them).
   */
  async quoteRules(
    executor: Db,
    variantIds: readonly string[],
    currency: string,
    code: string | null,
    country?: string,
  ): Promise<{ listPrices: ListPriceRow[]; promotions: PromotionRow[]; destination?: Destination }> {
    const db = tables(executor);
    const listPrices = db
      .selectFrom('price_list_prices as p')
      .innerJoin('price_lists as l', 'l.id', 'p.price_list_id')
      .select([
        'l.id as priceListId',
        'l.name',
        'l.customer_group as customerGroup',
        'p.variant_id as variantId',
        'p.amount',
        'p.min_quantity as minQuantity',
      ])
      .where(sql<boolean>`p.variant_id = any(${[...variantIds]}::uuid[])`)
      .where('p.currency', '=', currency)
      .where('l.active', '=', true)
      .where((eb) => eb.or([eb('l.starts_at', 'is', null), eb('l.starts_at', '<=', sql<Date>`now()`)]))
      .where((eb) => eb.or([eb('l.ends_at', 'is', null), eb('l.ends_at', '>', sql<Date>`now()`)]));
    const promotions = db
      .selectFrom('promotions')
      .select(promotionColumns)
      .where((eb) =>
        code === null
          ? eb.and([eb('automatic', '=', true), eb('active', '=', true)])
          : eb.or([eb.and([eb('automatic', '=', true), eb('active', '=', true)]), eb('code', '=', code)]),
      );
    const destination = sql<DestinationRow[] | string | null>`(select ${
      country === undefined
        ? sql`null::json`
        : sql`json_agg(d order by d."priceAmount", d."maxDays", d.name, d.id) from (${destinationQuery(country)}) d`
    })`;
    const row = await db
      .selectNoFrom([
        jsonArrayFrom(listPrices).as('listPrices'),
        jsonArrayFrom(promotions).as('promotions'),
        destination.as('destination'),
      ])
      .executeTakeFirstOrThrow();
    // Inside json, timestamps are ISO strings.
    const at = (value: Date | string | null) => (value === null ? null : new Date(value));
    return {
      listPrices: jsonValue(row.listPrices as ListPriceRow[] | string),
      promotions: jsonValue(row.promotions as unknown as PromotionRow[] | string)
        .map((promotion) => ({
          ...promotion,
          startsAt: at(promotion.startsAt),
          endsAt: at(promotion.endsAt),
        }))
        .sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      ...(row.destination !== null && { destination: toDestination(jsonValue(row.destination)) }),
    };
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

  async putTaxRate(executor: Db, rate: TaxRateRow) {
    return tables(executor)
      .insertInto('tax_rates')
      .values({
        country: rate.country,
        tax_class: rate.taxClass,
        rate_basis_points: rate.rate,
        name: rate.name,
      })
      .onConflict((conflict) =>
        conflict
          .columns(['country', 'tax_class'])
          .doUpdateSet({ rate_basis_points: rate.rate, name: rate.name, updated_at: sql`now()` }),
      )
      .returning(taxRateColumns)
      .executeTakeFirstOrThrow();
  },

  async insertTaxRateIfMissing(executor: Db, rate: TaxRateRow) {
    await tables(executor)
      .insertInto('tax_rates')
      .values({
        country: rate.country,
        tax_class: rate.taxClass,
        rate_basis_points: rate.rate,
        name: rate.name,
      })
      .onConflict((conflict) => conflict.columns(['country', 'tax_class']).doNothing())
      .execute();
  },

  taxRates(executor: Db): Promise<TaxRateRow[]> {
    return tables(executor)
      .selectFrom('tax_rates')
      .select(taxRateColumns)
      .orderBy('country')
      .orderBy('tax_class')
      .execute();
  },

  taxClasses(executor: Db) {
    return tables(executor).selectFrom('tax_classes').select(['code', 'name']).orderBy('code').execute();
  },

  /** A new class; false when the code is taken. */
  async insertTaxClass(executor: Db, code: string, name: string): Promise<boolean> {
    const row = await tables(executor)
      .insertInto('tax_classes')
      .values({ code, name })
      .onConflict((conflict) => conflict.column('code').doNothing())
      .returning('code')
      .executeTakeFirst();
    return row !== undefined;
  },

  /** Which of these class codes exist. */
  async knownTaxClasses(executor: Db, codes: readonly string[]): Promise<string[]> {
    if (codes.length === 0) return [];
    const rows = await tables(executor)
      .selectFrom('tax_classes')
      .select('code')
      .where('code', 'in', [...codes])
      .execute();
    return rows.map((row) => row.code);
  },

  /**
   * What a destination country costs to ship to and how it is taxed, in one statement: its tax
   * rate per class, whether its region's prices contain tax, and its active shipping methods (every
   * currency), cheapest first, then fastest.
   */
  async destination(executor: Db, country: string): Promise<Destination> {
    const { rows } = await destinationQuery(country).execute(executor);
    return toDestination(rows);
  },

  async insertPriceList(executor: Db, list: Omit<PriceListRow, 'active'>): Promise<void> {
    await tables(executor)
      .insertInto('price_lists')
      .values({
        id: list.id,
        name: list.name,
        customer_group: list.customerGroup,
        starts_at: list.startsAt,
        ends_at: list.endsAt,
      })
      .execute();
    if (list.prices.length === 0) return;
    await tables(executor)
      .insertInto('price_list_prices')
      .values(
        list.prices.map((price) => ({
          price_list_id: list.id,
          variant_id: price.variantId,
          currency: price.amount.currency,
          amount: price.amount.amount,
          min_quantity: price.minQuantity,
        })),
      )
      .execute();
  },

  /** Price lists with their prices, newest first (or the one with `id`). */
  async priceLists(executor: Db, id?: string): Promise<PriceListRow[]> {
    let query = tables(executor)
      .selectFrom('price_lists as l')
      .leftJoin('price_list_prices as p', 'p.price_list_id', 'l.id')
      .select([
        'l.id',
        'l.name',
        'l.customer_group as customerGroup',
        'l.starts_at as startsAt',
        'l.ends_at as endsAt',
        'l.active',
        'p.variant_id as variantId',
        'p.currency',
        'p.amount',
        'p.min_quantity as minQuantity',
      ])
      .orderBy('l.id', 'desc')
      .orderBy('p.variant_id')
      .orderBy('p.min_quantity');
    if (id) query = query.where('l.id', '=', id);
    const lists = new Map<string, PriceListRow>();
    for (const { variantId, currency, amount, minQuantity, ...list } of await query.execute()) {
      const row = lists.get(list.id) ?? { ...list, prices: [] };
      if (variantId !== null)
        row.prices.push({
          variantId,
          amount: { amount: amount!, currency: currency! },
          minQuantity: minQuantity!,
        });
      lists.set(list.id, row);
    }
    return [...lists.values()];
  },

  async deactivatePriceList(executor: Db, id: string): Promise<boolean> {
    const result = await tables(executor)
      .updateTable('price_lists')
      .set({ active: false })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /** The active, in-window list prices of these variants in this currency, whoever they are for. One statement. */
  async regionOf(executor: Db, country: string): Promise<RegionSummary | undefined> {
    return tables(executor)
      .selectFrom('region_countries as c')
      .innerJoin('regions as r', 'r.code', 'c.region_code')
      .select(regionSummaryColumns)
      .where('c.country', '=', country)
      .executeTakeFirst();
  },

  /** A region by its code, as a cart shows it. */
  async regionSummary(executor: Db, code: string): Promise<RegionSummary | undefined> {
    return tables(executor)
      .selectFrom('regions as r')
      .select(regionSummaryColumns)
      .where('r.code', '=', code)
      .executeTakeFirst();
  },

  /** Every region with its countries, by code. */
  async regions(executor: Db, code?: string): Promise<RegionRow[]> {
    let query = tables(executor)
      .selectFrom('regions as r')
      .leftJoin('region_countries as c', 'c.region_code', 'r.code')
      .select([...regionSummaryColumns, 'c.country'])
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
