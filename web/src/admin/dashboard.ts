import { html, nothing } from 'lit-html';
import type { LowStock, SalesReport } from '../types.ts';
import { type AppContext, type Content, money, STATUS_TEXT } from '../ui.ts';
import { salesChart } from './chart.ts';

const DAY_MS = 86_400_000;

/** The change against the period before, in words. */
function changeText(report: SalesReport, before: string): string {
  const now = report.sales.amount;
  const then = report.previous.sales.amount;
  if (then === 0) return now === 0 ? `nothing sold ${before} either` : `nothing sold ${before}`;
  const percent = Math.round(((now - then) / then) * 100);
  if (percent === 0) return `the same as ${before}`;
  return `${percent > 0 ? 'up' : 'down'} ${Math.abs(percent)}% on ${before}`;
}

function salesTile(label: string, report: SalesReport, before: string, id: string) {
  return html`<li class="card tile" data-testid=${id}>
    <h2>${label}</h2>
    <p class="figure" data-testid="${id}-sales">${money(report.sales)}</p>
    <p>${report.orders} ${report.orders === 1 ? 'order' : 'orders'} · ${changeText(report, before)}</p>
  </li>`;
}

/** What staff open the day with: sales and their trend, what is waiting, what sells, what runs out. */
export async function dashboardPage(ctx: AppContext): Promise<Content> {
  const now = new Date();
  const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const report = (from: Date, to: Date) =>
    ctx.api.get<SalesReport>(
      `/v1/reports/sales?${new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), interval: 'day' })}`,
    );
  const seesStock = ctx.api.session()?.user.permissions.includes('inventory:read') ?? false;
  const [today, week, month, low] = await Promise.all([
    report(midnight, now),
    report(new Date(now.getTime() - 7 * DAY_MS), now),
    report(new Date(now.getTime() - 30 * DAY_MS), now),
    seesStock ? ctx.api.get<{ items: LowStock[] }>('/v1/low-stock?limit=8') : Promise.resolve({ items: [] }),
  ]);
  const waiting = month.byStatus.confirmed + month.byStatus.partially_shipped;
  return html`
    <h1>Dashboard</h1>
    <p class="muted">Paid orders less refunds, in ${month.sales.currency}; days run midnight to midnight UTC.</p>
    <ul class="tiles">
      ${salesTile('Sales today', today, 'the same hours before', 'today')}
      ${salesTile('Last 7 days', week, 'the 7 days before', 'week')}
      ${salesTile('Last 30 days', month, 'the 30 days before', 'month')}
      <li class="card tile" data-testid="average">
        <h2>Average order, 30 days</h2>
        <p class="figure">${money(month.averageOrderValue)}</p>
        <p>${
          month.otherCurrencies.length > 0
            ? `Besides: ${month.otherCurrencies.map((other) => `${money(other.sales)} in ${other.orders} ${other.orders === 1 ? 'order' : 'orders'}`).join(', ')}`
            : html`<a href="/admin/orders?status=confirmed">${waiting} ${waiting === 1 ? 'order' : 'orders'} to ship</a>`
        }</p>
      </li>
    </ul>
    <section aria-labelledby="chart-heading"><h2 id="chart-heading">Sales, last 30 days</h2>${salesChart(month)}</section>
    <div class="columns">
      <section aria-labelledby="status-heading"><h2 id="status-heading">Orders of the last 30 days</h2>
        <div class="table-scroll"><table class="lines" data-testid="by-status">
          <thead><tr><th scope="col">Status</th><th scope="col">Orders</th></tr></thead>
          <tbody>${(['pending', 'confirmed', 'partially_shipped', 'shipped', 'cancelled'] as const).map(
            (status) =>
              html`<tr><td><a href="/admin/orders?status=${status}">${STATUS_TEXT[status]}</a></td><td>${month.byStatus[status]}</td></tr>`,
          )}</tbody>
        </table></div>
      </section>
      <section aria-labelledby="top-heading"><h2 id="top-heading">Top products, 30 days</h2>
        ${
          month.topProducts.length === 0
            ? html`<p class="muted">Nothing sold yet.</p>`
            : html`<ol data-testid="top-products">${month.topProducts.map(
                (top) =>
                  html`<li>${top.name} <span class="muted">(${top.sku})</span>: ${top.quantity} sold, ${money(top.sales)}</li>`,
              )}</ol>`
        }
      </section>
      ${
        seesStock
          ? html`<section aria-labelledby="low-heading"><h2 id="low-heading">Running low</h2>
            ${
              low.items.length === 0
                ? html`<p class="muted">Nothing is running low.</p>`
                : html`<ul data-testid="low-stock">${low.items.map(
                    (item) =>
                      html`<li>${
                        item.productId
                          ? html`<a href="/admin/products/${item.productId}">${item.productName}</a>`
                          : item.productName
                      } <span class="muted">(${item.sku})</span>: ${item.available === 0 ? 'none left' : `${item.available} left`}</li>`,
                  )}</ul>`
            }</section>`
          : nothing
      }
    </div>
  `;
}
