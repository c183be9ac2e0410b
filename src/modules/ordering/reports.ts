import type { Db } from '../../platform/db/index.ts';
import { badRequest } from '../../platform/errors.ts';
import type { Money } from '../cart/index.ts';
import type { OrderStatus } from './state.ts';
import { orderStore as store } from './store.ts';

export type ReportInterval = 'day' | 'week' | 'month';

/** What a period sold: paid orders (confirmed or shipped, even in part), totals less refunds. */
export interface PeriodSales {
  from: string;
  to: string;
  sales: Money;
  orders: number;
  averageOrderValue: Money;
}

export interface SalesReport extends PeriodSales {
  interval: ReportInterval;
  /** The period of the same length just before, to compare with. */
  previous: PeriodSales;
  /** Paid orders in currencies other than the store's (not in `sales`). */
  otherCurrencies: Array<{ sales: Money; orders: number }>;
  /** Every bucket of the window (UTC), empty ones included. */
  series: Array<{ start: string; sales: Money; orders: number }>;
  /** Orders placed in the window by their status now, in any currency. */
  byStatus: Record<OrderStatus, number>;
  /** The variants that sold most units in the store's currency. */
  topProducts: Array<{ variantId: string; sku: string; name: string; quantity: number; sales: Money }>;
}

/** More buckets than this is a chart nobody can read: ask for a longer interval. */
const MAX_BUCKETS = 400;
const DAY_MS = 86_400_000;

/** The start of the bucket holding `at`, as PostgreSQL's date_trunc in UTC names it. */
function bucketStart(at: Date, interval: ReportInterval): Date {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  if (interval === 'day') return new Date(day);
  if (interval === 'week') return new Date(day - ((at.getUTCDay() + 6) % 7) * DAY_MS);
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

function nextBucket(start: Date, interval: ReportInterval): Date {
  if (interval === 'day') return new Date(start.getTime() + DAY_MS);
  if (interval === 'week') return new Date(start.getTime() + 7 * DAY_MS);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

function bucketsOf(from: Date, to: Date, interval: ReportInterval): Date[] {
  const starts: Date[] = [];
  for (let at = bucketStart(from, interval); at < to; at = nextBucket(at, interval)) {
    starts.push(at);
    if (starts.length > MAX_BUCKETS)
      throw badRequest(
        'REPORT_RANGE_TOO_LONG',
        `That period has more than ${MAX_BUCKETS} ${interval}s: choose a shorter period or a longer interval`,
      );
  }
  return starts;
}

const average = (sales: number, orders: number) => (orders === 0 ? 0 : Math.round(sales / orders));

/** Staff's sales report, computed in SQL over `orders_created_idx` (three statements). */
export function createSalesReports(deps: { db: Db; storeCurrency: string }) {
  const { db, storeCurrency } = deps;
  const money = (amount: number, currency = storeCurrency): Money => ({ amount, currency });
  const period = (from: Date, to: Date, sales: number, orders: number): PeriodSales => ({
    from: from.toISOString(),
    to: to.toISOString(),
    sales: money(sales),
    orders,
    averageOrderValue: money(average(sales, orders)),
  });

  return {
    async sales(query: { from?: Date; to?: Date; interval?: ReportInterval }): Promise<SalesReport> {
      const interval = query.interval ?? 'day';
      const to = query.to ?? new Date();
      const from = query.from ?? new Date(to.getTime() - 30 * DAY_MS);
      if (from >= to)
        throw badRequest('REPORT_RANGE_INVALID', 'The start of the period must come before its end');
      const starts = bucketsOf(from, to, interval);
      const before = new Date(from.getTime() - (to.getTime() - from.getTime()));
      const [rows, previous, top] = await Promise.all([
        store.ordersByBucket(db, { from, to, interval }),
        store.paidBetween(db, before, from),
        store.topSellers(db, { from, to, currency: storeCurrency, limit: 5 }),
      ]);

      const byStatus: Record<OrderStatus, number> = {
        pending: 0,
        confirmed: 0,
        partially_shipped: 0,
        shipped: 0,
        cancelled: 0,
      };
      const series = new Map(starts.map((start) => [start.getTime(), { sales: 0, orders: 0 }]));
      const others = new Map<string, { sales: number; orders: number }>();
      for (const row of rows) {
        byStatus[row.status] += row.orders;
        if (row.status === 'pending' || row.status === 'cancelled') continue;
        const into =
          row.currency === storeCurrency
            ? series.get(new Date(row.bucket).getTime())!
            : (others.get(row.currency) ??
              others.set(row.currency, { sales: 0, orders: 0 }).get(row.currency)!);
        into.sales += row.kept;
        into.orders += row.orders;
      }
      const buckets = [...series.entries()].map(([start, sums]) => ({
        start: new Date(start).toISOString(),
        sales: money(sums.sales),
        orders: sums.orders,
      }));
      const sales = buckets.reduce((sum, bucket) => sum + bucket.sales.amount, 0);
      const orders = buckets.reduce((sum, bucket) => sum + bucket.orders, 0);
      const earlier = previous.find((row) => row.currency === storeCurrency);
      return {
        ...period(from, to, sales, orders),
        interval,
        previous: period(before, from, earlier?.kept ?? 0, earlier?.orders ?? 0),
        otherCurrencies: [...others.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([currency, sums]) => ({ sales: money(sums.sales, currency), orders: sums.orders })),
        series: buckets,
        byStatus,
        topProducts: top.map((row) => ({ ...row, sales: money(row.sales) })),
      };
    },
  };
}

export type SalesReports = ReturnType<typeof createSalesReports>;
