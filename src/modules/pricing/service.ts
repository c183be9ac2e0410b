import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, type DomainError, notFound } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import {
  type ListPriceRow,
  type PriceListRow,
  type PromotionFields,
  type PromotionRow,
  type RegionRow,
  type RegionSummary,
  type ShippingMethodRow,
  pricingStore as store,
  type TaxRateRow,
} from './store.ts';
import {
  type AppliedPromotion,
  type PricedCart,
  type PricingLine,
  type PromotionTarget,
  priceCart,
} from './totals.ts';

/** A region as the API shows it: countries under one currency, and whether prices contain tax. */
export type Region = RegionRow;

export interface PromotionInput {
  code?: string;
  name?: string;
  automatic?: boolean;
  kind: PromotionRow['kind'];
  value?: number;
  currency?: string;
  minSubtotal?: number;
  startsAt?: string;
  endsAt?: string;
  usageLimit?: number;
  perCustomerLimit?: number;
  buyQuantity?: number;
  getQuantity?: number;
  percentOff?: number;
  target?: PromotionTarget;
  priority?: number;
  stackable?: boolean;
  budget?: number;
}

export interface Promotion extends Omit<PromotionInput, 'automatic' | 'value' | 'priority' | 'stackable'> {
  id: string;
  automatic: boolean;
  value: number;
  priority: number;
  stackable: boolean;
  timesUsed: number;
  discountGiven: number;
  active: boolean;
}

export interface ShippingMethod {
  id: string;
  name: string;
  country: string;
  price: { amount: number; currency: string };
  minDays: number;
  maxDays: number;
}

/** A cart line as the quote takes it: priced, with the tax class it is sold under. */
export interface QuoteLine extends Omit<PricingLine, 'taxRateBasisPoints'> {
  /** Default `standard`. */
  taxClass?: string;
  /** The variant sold: price lists may price it below the shelf. */
  variantId?: string;
}

/** A line as quoted: the unit price it is charged at, and the price list that set it, if one did. */
export type QuotedLine = PricedCart['lines'][number] & {
  unitAmount: number;
  priceList?: { id: string; name: string };
};

/**
 * Where tax rates come from. The built-in one is the tax_rates table (read with the destination,
 * no extra statement); a shop may plug an external tax service instead. Rates are basis points per
 * tax class; a class the answer does not name is taxed at its `standard` rate.
 */
export interface TaxProvider {
  rates(destination: { country: string }, taxClasses: readonly string[]): Promise<Map<string, number>>;
}

export interface QuoteInput {
  currency: string;
  lines: QuoteLine[];
  userId: string;
  /** A guest's shopper id names one cart, not a customer: codes limited per customer need an account. */
  guest?: boolean;
  promotionCode?: string | null;
  /** The method the shopper chose, if any; the quote may choose another (see Quote). */
  shippingMethodId?: string | null;
  /** Destination for tax and shipping; defaults to the chosen shipping method's country. */
  country?: string;
  /** The region the shopper chose while no country is known: whether its prices contain tax. */
  region?: string | null;
}

/** Why the cart cannot ship to its destination as it is (checkout refuses with it). */
export interface ShippingProblem {
  code: 'SHIPPING_CURRENCY';
  detail: string;
  /** The currencies this destination's methods are priced in. */
  currencies: string[];
}

export interface Quote extends Omit<PricedCart, 'lines'> {
  lines: QuotedLine[];
  /** The code the shopper entered, when it applies. */
  promotion?: { code: string; kind: PromotionRow['kind'] };
  /** Why the chosen code does not apply now (the cart shows it; checkout refuses). */
  promotionProblem?: DomainError;
  /**
   * The method the totals include: the chosen one while it is active, ships to the destination
   * and is priced in the cart's currency; otherwise the destination's cheapest such method. A
   * destination with methods never ships free because none was chosen.
   */
  shippingMethod?: ShippingMethod;
  /** Said when the chosen method had to be replaced (retired, or repriced in another currency). */
  shippingNotice?: string;
  shippingProblem?: ShippingProblem;
  country?: string;
  /** The region the destination is in, if any: its currency and whether its prices contain tax. */
  region?: RegionSummary;
}

const invalid = (detail: string) => badRequest('PROMOTION_INVALID', detail);
const exhausted = () => conflict('PROMOTION_EXHAUSTED', 'This promotion has been used up');

export const normaliseCode = (code: string) => code.trim().toUpperCase();

function toPromotion(row: PromotionRow): Promotion {
  const promotion: Promotion = {
    id: row.id,
    automatic: row.automatic,
    kind: row.kind,
    value: row.value,
    priority: row.priority,
    stackable: row.stackable,
    timesUsed: row.timesUsed,
    discountGiven: row.discountGiven,
    active: row.active,
  };
  if (row.code) promotion.code = row.code;
  if (row.name) promotion.name = row.name;
  if (row.kind === 'buy_x_get_y') {
    promotion.buyQuantity = row.buyQuantity!;
    promotion.getQuantity = row.getQuantity!;
    promotion.percentOff = row.value;
  }
  if (row.target) promotion.target = row.target;
  if (row.budget !== null) promotion.budget = row.budget;
  if (row.currency) promotion.currency = row.currency;
  if (row.minSubtotal !== null) promotion.minSubtotal = row.minSubtotal;
  if (row.startsAt) promotion.startsAt = row.startsAt.toISOString();
  if (row.endsAt) promotion.endsAt = row.endsAt.toISOString();
  if (row.usageLimit !== null) promotion.usageLimit = row.usageLimit;
  if (row.perCustomerLimit !== null) promotion.perCustomerLimit = row.perCustomerLimit;
  return promotion;
}

export interface PriceListInput {
  name: string;
  customerGroup?: string;
  startsAt?: string;
  endsAt?: string;
  prices: Array<{ variantId: string; amount: { amount: number; currency: string }; minQuantity?: number }>;
}

export interface PriceList extends Omit<PriceListInput, 'prices'> {
  id: string;
  active: boolean;
  prices: Array<{ variantId: string; amount: { amount: number; currency: string }; minQuantity: number }>;
}

function toPriceList(row: PriceListRow): PriceList {
  const list: PriceList = { id: row.id, name: row.name, active: row.active, prices: row.prices };
  if (row.customerGroup) list.customerGroup = row.customerGroup;
  if (row.startsAt) list.startsAt = row.startsAt.toISOString();
  if (row.endsAt) list.endsAt = row.endsAt.toISOString();
  return list;
}

/**
 * What pricing reads from the modules that own it: ordering's orders of a period (the simulator
 * replays them) and catalog's facts on variants (the simulator's targets; price lists' variants).
 */
export interface PricingSources {
  ordersBetween(
    from: Date,
    to: Date,
    limit: number,
  ): Promise<{
    orders: Array<{
      id: string;
      userId: string;
      currency: string;
      shippingAmount: number;
      lines: Array<{ id: string; variantId: string; unitAmount: number; quantity: number }>;
    }>;
    truncated: boolean;
  }>;
  variants(
    variantIds: readonly string[],
  ): Promise<
    Array<{ variantId: string; productId: string; categorySlugs: string[]; collectionSlugs: string[] }>
  >;
}

/** What a promotion would have done to the orders of a period. */
export interface Simulation {
  from: string;
  to: string;
  /** Orders replayed (at most SIMULATION_LIMIT, the newest; `truncated` says there were more). */
  orders: number;
  truncated: boolean;
  /** Orders it would have discounted, within its usage and per-customer limits and its budget. */
  qualifying: number;
  customers: number;
  /** What it would have cost, per currency: goods discounted and shipping given. */
  cost: Array<{ amount: number; currency: string }>;
  /** Orders it fitted but its limits or budget would have refused. */
  refusedByLimits: number;
}

/** The most orders one simulation replays. */
export const SIMULATION_LIMIT = 10_000;

/** How a stored promotion enters the totals. */
function toApplied(row: PromotionRow): AppliedPromotion {
  const applied: AppliedPromotion = {
    id: row.id,
    kind: row.kind,
    value: row.value,
    stackable: row.stackable,
  };
  if (row.code && !row.automatic) applied.code = row.code;
  if (row.name) applied.name = row.name;
  if (row.target) applied.target = row.target;
  if (row.buyQuantity !== null) applied.buyQuantity = row.buyQuantity;
  if (row.getQuantity !== null) applied.getQuantity = row.getQuantity;
  return applied;
}

function toShippingMethod(row: ShippingMethodRow): ShippingMethod {
  return {
    id: row.id,
    name: row.name,
    country: row.country,
    price: { amount: row.priceAmount, currency: row.currency },
    minDays: row.minDays,
    maxDays: row.maxDays,
  };
}

const rule = (detail: string) => badRequest('VALIDATION_FAILED', detail);

/** A promotion's stored fields from what staff gave, checked beyond what the schema can say. */
export function promotionFields(input: PromotionInput, active = true): PromotionFields {
  const { kind } = input;
  const value = kind === 'buy_x_get_y' ? (input.percentOff ?? 100) : (input.value ?? 0);
  if (!input.code && !input.automatic) throw rule('Give the promotion a code, or make it automatic');
  if (kind === 'percentage' && (value < 1 || value > 100)) throw rule('A percentage is 1..100');
  if (kind === 'fixed' && (!input.currency || value < 1))
    throw rule('A fixed discount needs a value and a currency');
  if (kind === 'buy_x_get_y' && (!input.buyQuantity || !input.getQuantity))
    throw rule('Buy X get Y needs buyQuantity and getQuantity');
  if (input.budget !== undefined && !input.currency)
    throw rule('A budget is an amount: give the currency it is counted in');
  const startsAt = input.startsAt ? new Date(input.startsAt) : null;
  const endsAt = input.endsAt ? new Date(input.endsAt) : null;
  if (startsAt && endsAt && endsAt <= startsAt) throw rule('endsAt must be after startsAt');
  const bxgy = kind === 'buy_x_get_y';
  return {
    name: input.name ?? null,
    automatic: input.automatic ?? false,
    kind,
    value: kind === 'free_shipping' ? 0 : value,
    currency: input.currency ?? null,
    minSubtotal: input.minSubtotal ?? null,
    startsAt,
    endsAt,
    usageLimit: input.usageLimit ?? null,
    perCustomerLimit: input.perCustomerLimit ?? null,
    target: input.target && Object.keys(input.target).length > 0 ? input.target : null,
    buyQuantity: bxgy ? input.buyQuantity! : null,
    getQuantity: bxgy ? input.getQuantity! : null,
    priority: input.priority ?? 0,
    stackable: input.stackable ?? true,
    budget: input.budget ?? null,
    active,
  };
}

/**
 * The method a cart ships by: the chosen one while it still applies, else the cheapest of the
 * destination's methods in the cart's currency. `methods` are the destination's active methods,
 * cheapest first.
 */
function chooseShipping(
  methods: ShippingMethodRow[],
  chosen: ShippingMethodRow | undefined,
  currency: string,
  country: string,
): { method?: ShippingMethodRow; notice?: string; problem?: ShippingProblem } {
  const payable = methods.filter((method) => method.currency === currency);
  const kept = payable.find((method) => method.id === chosen?.id);
  if (kept) return { method: kept };
  if (payable.length === 0) {
    if (methods.length === 0) return {};
    const currencies = [...new Set(methods.map((method) => method.currency))];
    return {
      problem: {
        code: 'SHIPPING_CURRENCY',
        detail: `Shipping to ${country} is charged in ${currencies.join(' or ')}; this cart is in ${currency}`,
        currencies,
      },
    };
  }
  const method = payable[0];
  // Only a choice for this destination that stopped applying is worth telling about.
  const notice =
    chosen && chosen.country === country
      ? `${chosen.name} is no longer available; ${method.name} was chosen instead`
      : undefined;
  return notice ? { method, notice } : { method };
}

/** The rule a JSON schema cannot say about delivery days; the routes document it too. */
export const DAYS_RULE = 'The latest delivery day (maxDays) cannot come before the earliest (minDays)';

/** Throws 404 for a row that should be there; `row ?? absent('Promotion')`. */
const absent = (what: string): never => {
  throw notFound(what);
};

/** The cart a code is checked for. */
export interface PromotionContext {
  subtotal: number;
  currency: string;
  userId: string;
  guest?: boolean;
  /** The shopper's customer groups, read once when a promotion is for some groups. */
  groups?: () => Promise<ReadonlySet<string>>;
}

export function createPricingService(
  db: Db,
  options: {
    taxProvider?: TaxProvider;
    /** The customer groups a user is in (the customers module's), for price lists kept for a group. */
    customerGroups?: (userId: string, executor: Db) => Promise<string[]>;
    /** Ordering's and catalog's data, for the simulator and to check price lists' variants. */
    sources?: PricingSources;
  } = {},
) {
  const promotion = async (id: string) => (await store.promotionById(db, id)) ?? absent('Promotion');

  /** Every class named exists (standard always does), else 400 TAX_CLASS_UNKNOWN naming those that do not. */
  async function assertTaxClasses(codes: readonly string[], executor: Db = db): Promise<void> {
    const wanted = [...new Set(codes)].filter((code) => code !== 'standard');
    const known = new Set(await store.knownTaxClasses(executor, wanted));
    const unknown = wanted.filter((code) => !known.has(code));
    if (unknown.length > 0)
      throw badRequest(
        'TAX_CLASS_UNKNOWN',
        `There is no tax class ${unknown.join(', ')}: create it under tax classes first`,
      );
  }

  /** The user's customer groups, read at most once, on first need (none without the customers module). */
  function groupsOf(userId: string, executor: Db): () => Promise<ReadonlySet<string>> {
    let read: Promise<ReadonlySet<string>> | undefined;
    return () => {
      read ??= options.customerGroups
        ? options.customerGroups(userId, executor).then((groups) => new Set(groups))
        : Promise.resolve(new Set());
      return read;
    };
  }

  /** Why `row` cannot apply to this cart now, or undefined when it can. */
  async function problemWith(
    row: PromotionRow | undefined,
    context: PromotionContext,
    executor: Db,
  ): Promise<DomainError | undefined> {
    if (!row?.active) return invalid('This code is not valid');
    const now = Date.now();
    if (row.startsAt && row.startsAt.getTime() > now) return invalid('This code is not active yet');
    if (row.endsAt && row.endsAt.getTime() <= now) return invalid('This code has expired');
    if (row.currency && row.currency !== context.currency)
      return invalid(`This code applies to ${row.currency} carts`);
    if (row.minSubtotal !== null && context.subtotal < row.minSubtotal) {
      return invalid(`This code needs a subtotal of at least ${row.minSubtotal}`);
    }
    if (row.usageLimit !== null && row.timesUsed >= row.usageLimit) return exhausted();
    if (row.budget !== null && row.discountGiven >= row.budget) return exhausted();
    if (row.perCustomerLimit !== null && context.guest)
      return invalid('This code is for signed-in customers: sign in or register to use it');
    const forGroups = row.target?.customerGroups ?? [];
    if (forGroups.length > 0) {
      if (context.guest) return invalid('This code is for some of our customers: sign in to use it');
      const mine = await (context.groups ?? groupsOf(context.userId, executor))();
      if (!forGroups.some((group) => mine.has(group))) return invalid('This code is not for your account');
    }
    if (
      row.perCustomerLimit !== null &&
      (await store.usesBy(executor, row.id, context.userId)) >= row.perCustomerLimit
    ) {
      return exhausted();
    }
    return undefined;
  }

  /**
   * Writes a region and its countries in one transaction. A country is in one region at most: one
   * held by another region answers 409 COUNTRY_IN_REGION, naming it and where it is (two writers
   * racing for one country: the second fails on the primary key, 409 too).
   */
  function saveRegion(code: string, next: (existing: Region | undefined) => Region, create: boolean) {
    return transact(db, async (tx) => {
      const [existing] = await store.regions(tx, code);
      if (create && existing)
        throw conflict('REGION_EXISTS', `There is already a region with the code ${code}`);
      if (!create && !existing) throw notFound('Region');
      const region = next(existing);
      const countries = [...new Set(region.countries)].sort();
      const elsewhere = await store.countriesElsewhere(tx, countries, code);
      if (elsewhere.length > 0)
        throw conflict(
          'COUNTRY_IN_REGION',
          `${elsewhere.map((row) => `${row.country} is already in the region ${row.region}`).join('; ')}: take it out there first`,
        );
      await store.saveRegion(tx, { ...region, countries });
      return { ...region, countries };
    });
  }

  /**
   * The promotions that price this cart, in the order they apply: the automatic ones that fit it
   * and the shopper's code, or why the code does not apply.
   */
  async function promotionsFor(input: QuoteInput, rows: PromotionRow[], executor: Db) {
    const subtotal = input.lines.reduce((sum, line) => sum + line.unitAmount * line.quantity, 0);
    const context = {
      subtotal,
      currency: input.currency,
      userId: input.userId,
      guest: input.guest,
      groups: groupsOf(input.userId, executor),
    };
    const codeRow = input.promotionCode ? rows.find((row) => row.code === input.promotionCode) : undefined;
    const applicable: PromotionRow[] = [];
    let codeProblem: DomainError | undefined;
    for (const row of rows) {
      const problem = await problemWith(row, context, executor);
      if (row === codeRow && !row.automatic) codeProblem = problem;
      if (!problem) applicable.push(row);
    }
    if (input.promotionCode && !codeRow) codeProblem = invalid('This code is not valid');
    return { applicable, codeRow: codeRow?.automatic ? undefined : codeRow, codeProblem };
  }

  /**
   * Prices the lines with the promotions. One whose discount would pass its remaining budget does
   * not apply (an automatic one silently; a code says so), and the rest are priced again without
   * it, so what the cart shows is what checkout can honour.
   */
  function priceWith(
    input: { currency: string; lines: PricingLine[] },
    found: Awaited<ReturnType<typeof promotionsFor>>,
    pricing: Omit<Parameters<typeof priceCart>[0], 'currency' | 'lines' | 'promotions'>,
  ) {
    let rows = found.applicable;
    let codeProblem = found.codeProblem;
    for (;;) {
      const priced = priceCart({
        currency: input.currency,
        lines: input.lines,
        promotions: rows.map(toApplied),
        ...pricing,
      });
      const over = rows.filter((row) => {
        const given = priced.discounts.find((discount) => discount.promotionId === row.id)?.amount ?? 0;
        return row.budget !== null && row.discountGiven + given > row.budget;
      });
      if (over.length === 0) return { priced, rows, codeProblem };
      if (over.includes(found.codeRow!)) codeProblem = exhausted();
      rows = rows.filter((row) => !over.includes(row));
    }
  }

  /** Why the shopper's code, accepted before, gives nothing in the totals as priced. */
  function unappliedCode(priced: PricedCart, rows: PromotionRow[], codeRow: PromotionRow) {
    if (priced.discounts.some((discount) => discount.promotionId === codeRow.id)) return undefined;
    if (priced.stopped.includes(codeRow.id)) {
      const stopper = rows.find(
        (row) => !row.stackable && priced.discounts.some((d) => d.promotionId === row.id),
      );
      return invalid(
        `This code cannot be combined with ${stopper?.name ?? stopper?.code ?? 'another promotion'}`,
      );
    }
    return invalid('This code applies to none of the items in your cart');
  }

  /**
   * Each line at the best price that applies to it now: the shelf price, or a lower one from an
   * active, in-window price list for everyone or for one of the shopper's groups, from the line's
   * quantity (tiers). `rows` come with the promotions' (quoteRules); a list for a group reads the shopper's groups.
   */
  async function listPriced(input: QuoteInput, rows: ListPriceRow[], executor: Db) {
    const forGroups =
      rows.some((row) => row.customerGroup !== null) && !input.guest && options.customerGroups;
    const groups = new Set(forGroups ? await options.customerGroups!(input.userId, executor) : []);
    const pricedBy: Array<{ id: string; name: string } | undefined> = [];
    const lines = input.lines.map((line) => {
      const best = rows
        .filter(
          (row) =>
            row.variantId === line.variantId &&
            row.minQuantity <= line.quantity &&
            (row.customerGroup === null || groups.has(row.customerGroup)),
        )
        .sort((a, b) => a.amount - b.amount || (a.priceListId < b.priceListId ? -1 : 1))[0];
      const lower = best && best.amount < line.unitAmount;
      pricedBy.push(lower ? { id: best.priceListId, name: best.name } : undefined);
      return lower ? { ...line, unitAmount: best.amount } : line;
    });
    return { lines, pricedBy };
  }

  async function quote(shelf: QuoteInput, executor: Db = db): Promise<Quote> {
    const variantIds = [...new Set(shelf.lines.flatMap((line) => (line.variantId ? [line.variantId] : [])))];
    // The address's country is known before anything is read: its tax and shipping come in the same statement.
    const known = shelf.country && shelf.lines.length > 0 ? shelf.country : undefined;
    const rules = await store.quoteRules(
      executor,
      variantIds,
      shelf.currency,
      shelf.promotionCode ?? null,
      known,
    );
    const { lines: listedLines, pricedBy } = await listPriced(shelf, rules.listPrices, executor);
    const input = { ...shelf, lines: listedLines };
    const found = await promotionsFor(input, rules.promotions, executor);
    // Without an address the chosen method's country is the destination.
    const chosenId = input.shippingMethodId ?? undefined;
    let chosen = chosenId && !input.country ? await store.shippingMethod(executor, chosenId) : undefined;
    const country = input.country ?? (chosen?.active ? chosen.country : undefined);
    // An empty cart ships nothing and owes no tax.
    const destination =
      rules.destination ??
      (country && input.lines.length > 0 ? await store.destination(executor, country) : undefined);
    let shipping: ReturnType<typeof chooseShipping> = {};
    if (destination) {
      // The chosen method is among the destination's unless it stopped applying: only then read it.
      chosen ??= destination.methods.find((method) => method.id === chosenId);
      if (chosenId && !chosen) chosen = await store.shippingMethod(executor, chosenId);
      shipping = chooseShipping(destination.methods, chosen, input.currency, country!);
    }
    // Before any country is known, a chosen region still says whether shelf prices contain tax.
    const chosenRegion =
      !country && input.region ? await store.regionSummary(executor, input.region) : undefined;
    const rates =
      destination && options.taxProvider
        ? await options.taxProvider.rates({ country: country! }, [
            ...new Set(input.lines.map((line) => line.taxClass ?? 'standard')),
          ])
        : (destination?.taxRates ?? new Map<string, number>());
    const standard = rates.get('standard') ?? 0;
    const lines = input.lines.map(({ taxClass, ...line }) => ({
      ...line,
      taxRateBasisPoints: rates.get(taxClass ?? 'standard') ?? standard,
    }));
    const { priced, rows, codeProblem } = priceWith({ currency: input.currency, lines }, found, {
      shippingAmount: shipping.method?.priceAmount ?? 0,
      taxRateBasisPoints: standard,
      taxInclusive: destination?.taxInclusive ?? chosenRegion?.taxInclusive ?? false,
    });
    const result: Quote = {
      ...priced,
      lines: priced.lines.map((line, index) => {
        const quoted: QuotedLine = { ...line, unitAmount: input.lines[index].unitAmount };
        if (pricedBy[index]) quoted.priceList = pricedBy[index];
        return quoted;
      }),
    };
    const codeRow = found.codeRow;
    const promotionProblem =
      codeProblem ?? (codeRow && input.lines.length > 0 ? unappliedCode(priced, rows, codeRow) : undefined);
    if (codeRow?.code && !promotionProblem) result.promotion = { code: codeRow.code, kind: codeRow.kind };
    if (promotionProblem) result.promotionProblem = promotionProblem;
    if (shipping.method) result.shippingMethod = toShippingMethod(shipping.method);
    if (shipping.notice) result.shippingNotice = shipping.notice;
    if (shipping.problem) result.shippingProblem = shipping.problem;
    if (country) result.country = country;
    const region = destination?.region ?? chosenRegion;
    if (region) result.region = region;
    return result;
  }

  return {
    quote,

    async createPromotion(input: PromotionInput): Promise<Promotion> {
      const code = input.code ? normaliseCode(input.code) : null;
      const row = await store.insertPromotion(db, uuidv7(), code, promotionFields(input));
      if (!row) throw conflict('PROMOTION_EXISTS', `A promotion with code ${code} exists`);
      return toPromotion(row);
    },

    listPromotions: async () => (await store.promotions(db)).map(toPromotion),

    getPromotion: async (id: string): Promise<Promotion> => toPromotion(await promotion(id)),

    async updatePromotion(
      id: string,
      patch: Partial<Omit<PromotionInput, 'code'>> & { active?: boolean },
    ): Promise<Promotion> {
      const current = await promotion(id);
      const merged = { ...toPromotion(current), ...patch };
      const row = await store.updatePromotion(
        db,
        id,
        promotionFields(merged, patch.active ?? current.active),
      );
      return toPromotion(row ?? absent('Promotion'));
    },

    async deactivatePromotion(id: string): Promise<void> {
      await store.updatePromotion(db, id, promotionFields(toPromotion(await promotion(id)), false));
    },

    /** Checks a code for a cart now (the shopper's "apply code"). */
    async checkCode(code: string, context: PromotionContext): Promise<string> {
      const row = await store.promotionByCode(db, normaliseCode(code));
      if (row?.automatic) throw invalid('This promotion applies by itself: no code is needed');
      const problem = await problemWith(row, context, db);
      if (problem) throw problem;
      return row!.code!;
    },

    /**
     * Counts the redemptions of an order's promotions inside the checkout transaction. Each use and
     * its discount are taken by one conditional update (never past the usage limit or the budget);
     * the per-customer count is read after that update locked the promotion row, so two checkouts
     * of one customer cannot both slip under the limit.
     */
    async redeem(
      tx: Db,
      orderId: string,
      userId: string,
      discounts: ReadonlyArray<{ promotionId: string; amount: number }>,
    ): Promise<void> {
      // In id order, as releases take them: concurrent checkouts lock promotion rows alike.
      const ordered = [...discounts].sort((a, b) => (a.promotionId < b.promotionId ? -1 : 1));
      for (const { promotionId, amount } of ordered) {
        const taken = await store.takeUse(tx, promotionId, amount);
        if (!taken) throw exhausted();
        if (
          taken.perCustomerLimit !== null &&
          (await store.usesBy(tx, promotionId, userId)) >= taken.perCustomerLimit
        )
          throw exhausted();
        await store.recordRedemption(tx, { promotionId, orderId, userId, amount });
      }
    },

    release: (tx: Db, orderId: string) => store.releaseRedemption(tx, orderId),

    async redemptions(code: string): Promise<number> {
      const row = (await store.promotionByCode(db, normaliseCode(code))) ?? absent('Promotion');
      return store.redemptionsOf(db, row.id);
    },

    /** Sets a country's rate for a class (default standard); an unknown class is 400 TAX_CLASS_UNKNOWN. */
    async putTaxRate(rate: TaxRateRow) {
      await assertTaxClasses([rate.taxClass]);
      return store.putTaxRate(db, rate);
    },

    /**
     * A new price list. Its prices name a variant, an amount and the quantity they start at
     * (default 1); the same variant, currency and quantity twice is 400 VALIDATION_FAILED.
     */
    async createPriceList(input: PriceListInput): Promise<PriceList> {
      const startsAt = input.startsAt ? new Date(input.startsAt) : null;
      const endsAt = input.endsAt ? new Date(input.endsAt) : null;
      if (startsAt && endsAt && endsAt <= startsAt) throw rule('endsAt must be after startsAt');
      const prices = input.prices.map((price) => ({ ...price, minQuantity: price.minQuantity ?? 1 }));
      if (options.sources) {
        const named = [...new Set(prices.map((price) => price.variantId))];
        const known = new Set((await options.sources.variants(named)).map((variant) => variant.variantId));
        const unknown = named.filter((variantId) => !known.has(variantId));
        if (unknown.length > 0)
          throw badRequest('UNKNOWN_VARIANT', `No product has the variant ${unknown.join(', ')}`);
      }
      const keys = prices.map((price) => `${price.variantId} ${price.amount.currency} ${price.minQuantity}`);
      if (new Set(keys).size !== keys.length)
        throw rule('A variant has one price per currency and starting quantity: one of them is there twice');
      const id = uuidv7();
      await transact(db, (tx) =>
        store.insertPriceList(tx, {
          id,
          name: input.name,
          customerGroup: input.customerGroup ?? null,
          startsAt,
          endsAt,
          prices,
        }),
      );
      return toPriceList((await store.priceLists(db, id))[0]);
    },

    listPriceLists: async () => (await store.priceLists(db)).map(toPriceList),

    /**
     * Replays the orders placed in [from, to) against one promotion (a draft: active or not) as if it
     * had been the only one, oldest first, counting its limits and budget as checkout would, and
     * reports how many would have qualified and what it would have cost. Reads only: nothing it
     * replays changes, and the promotion's counters stay as they are.
     */
    async simulate(id: string, window: { from: string; to: string }): Promise<Simulation> {
      const row = await promotion(id);
      if (!options.sources) throw new Error('simulation needs the order history');
      const from = new Date(window.from);
      const to = new Date(window.to);
      if (to <= from) throw rule('to must be after from');
      const { orders, truncated } = await options.sources.ordersBetween(from, to, SIMULATION_LIMIT);
      const facts = new Map(
        (
          await options.sources.variants([
            ...new Set(orders.flatMap((order) => order.lines.map((line) => line.variantId))),
          ])
        ).map((variant) => [variant.variantId, variant]),
      );
      const applied = { ...toApplied(row), stackable: true };
      const cost = new Map<string, number>();
      const usesBy = new Map<string, number>();
      let uses = row.timesUsed;
      let given = row.discountGiven;
      let qualifying = 0;
      let refusedByLimits = 0;
      for (const order of orders) {
        if (row.currency && row.currency !== order.currency) continue;
        const lines = order.lines.map((line) => ({
          ...line,
          productId: facts.get(line.variantId)?.productId,
          categorySlugs: facts.get(line.variantId)?.categorySlugs ?? [],
          collectionSlugs: facts.get(line.variantId)?.collectionSlugs ?? [],
        }));
        const subtotal = lines.reduce((sum, line) => sum + line.unitAmount * line.quantity, 0);
        if (row.minSubtotal !== null && subtotal < row.minSubtotal) continue;
        const priced = priceCart({
          currency: order.currency,
          lines,
          promotions: [applied],
          shippingAmount: order.shippingAmount,
        });
        const discount = priced.discounts[0];
        const amount = (discount?.amount ?? 0) + (discount?.shippingAmount ?? 0);
        if (amount === 0) continue;
        const customerUses = usesBy.get(order.userId) ?? 0;
        if (
          (row.usageLimit !== null && uses >= row.usageLimit) ||
          (row.perCustomerLimit !== null && customerUses >= row.perCustomerLimit) ||
          (row.budget !== null && given + discount.amount > row.budget)
        ) {
          refusedByLimits += 1;
          continue;
        }
        uses += 1;
        given += discount.amount;
        usesBy.set(order.userId, customerUses + 1);
        qualifying += 1;
        cost.set(order.currency, (cost.get(order.currency) ?? 0) + amount);
      }
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        orders: orders.length,
        truncated,
        qualifying,
        customers: usesBy.size,
        cost: [...cost]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([currency, amount]) => ({ amount, currency })),
        refusedByLimits,
      };
    },

    async getPriceList(id: string): Promise<PriceList> {
      const [row] = await store.priceLists(db, id);
      return toPriceList(row ?? absent('Price list'));
    },

    async deactivatePriceList(id: string): Promise<void> {
      if (!(await store.deactivatePriceList(db, id))) throw notFound('Price list');
    },

    taxClasses: () => store.taxClasses(db),

    async taxClass(code: string) {
      return (await store.taxClasses(db)).find((row) => row.code === code) ?? absent('Tax class');
    },

    async createTaxClass(code: string, name: string) {
      if (!(await store.insertTaxClass(db, code, name)))
        throw conflict('TAX_CLASS_EXISTS', `There is already a tax class with the code ${code}`);
      return { code, name };
    },

    assertTaxClasses,

    /** Every region, or the one with this code. */
    regions: (code?: string) => store.regions(db, code),

    /** The region a country is in, if any. */
    regionOf: (country: string) => store.regionOf(db, country),

    /** A new region; its code is taken (409 REGION_EXISTS) or its countries elsewhere (409 COUNTRY_IN_REGION). */
    createRegion: (region: Region) => saveRegion(region.code, () => region, true),

    /** Changes a region's name, currency, tax mode or countries (the list replaces the old one). */
    updateRegion: (code: string, fields: Partial<Omit<Region, 'code'>>) =>
      saveRegion(code, (existing) => ({ ...existing!, ...fields }), false),

    async deleteRegion(code: string): Promise<void> {
      if (!(await store.deleteRegion(db, code))) throw notFound('Region');
    },
    taxRates: () => store.taxRates(db),

    async createShippingMethod(input: Omit<ShippingMethod, 'id'>): Promise<ShippingMethod> {
      if (input.maxDays < input.minDays) throw badRequest('VALIDATION_FAILED', DAYS_RULE);
      const row = await store.insertShippingMethod(db, {
        id: uuidv7(),
        name: input.name,
        country: input.country,
        priceAmount: input.price.amount,
        currency: input.price.currency,
        minDays: input.minDays,
        maxDays: input.maxDays,
      });
      return toShippingMethod(row);
    },

    async updateShippingMethod(
      id: string,
      patch: Partial<Omit<ShippingMethod, 'id'>> & { active?: boolean },
    ): Promise<ShippingMethod> {
      const current = (await store.shippingMethod(db, id)) ?? absent('Shipping method');
      if ((patch.maxDays ?? current.maxDays) < (patch.minDays ?? current.minDays)) {
        throw badRequest('VALIDATION_FAILED', DAYS_RULE);
      }
      const row = await store.updateShippingMethod(db, id, {
        name: patch.name,
        country: patch.country,
        priceAmount: patch.price?.amount,
        currency: patch.price?.currency,
        minDays: patch.minDays,
        maxDays: patch.maxDays,
        active: patch.active,
      });
      return toShippingMethod(row ?? absent('Shipping method'));
    },

    shippingMethods: async (country?: string) =>
      (await store.shippingMethods(db, country)).map(toShippingMethod),

    async shippingMethod(id: string): Promise<ShippingMethod> {
      const row = await store.shippingMethod(db, id);
      if (!row?.active) throw notFound('Shipping method');
      return toShippingMethod(row);
    },
  };
}

export type PricingService = ReturnType<typeof createPricingService>;
