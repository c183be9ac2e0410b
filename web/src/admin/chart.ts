import { html, svg } from 'lit-html';
import { formatMoney, fractionDigits } from '../money.ts';
import type { SalesReport } from '../types.ts';

const WIDTH = 640;
const HEIGHT = 200;
const LEFT = 64;
const BOTTOM = 24;
const TOP = 8;

const dayLabel = (iso: string) =>
  new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

/** A round step for the axis: 1, 2 or 5 times a power of ten, about a quarter of the highest bar. */
function niceStep(max: number): number {
  if (max <= 0) return 1;
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((factor) => factor * power).find((step) => step >= rough) ?? power * 10;
}

/**
 * The report's series as bars (hand-written SVG: one kind of chart needs no library). It scales
 * to its box; screen readers get a sentence and the figures as a table instead of the drawing.
 */
export function salesChart(report: SalesReport) {
  const currency = report.sales.currency;
  // Whole units on the axis: the ticks are round, their cents say nothing.
  const whole = new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: 0 });
  const axisMoney = (amount: number) => whole.format(amount / 10 ** fractionDigits(currency));
  const amounts = report.series.map((bucket) => bucket.sales.amount);
  const step = niceStep(Math.max(...amounts, 0));
  const top = Math.max(step * Math.ceil(Math.max(...amounts, 0) / step), step);
  const plotHeight = HEIGHT - BOTTOM - TOP;
  const slot = (WIDTH - LEFT) / Math.max(report.series.length, 1);
  const y = (amount: number) => TOP + plotHeight - (amount / top) * plotHeight;
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, index) => index * step);
  const labelEvery = Math.ceil(report.series.length / 6);
  const best = report.series.reduce(
    (most, bucket) => (bucket.sales.amount > most.sales.amount ? bucket : most),
    report.series[0],
  );
  const summary = best
    ? `Sales by ${report.interval}: ${formatMoney(report.sales)} in all, the most on ${dayLabel(best.start)} (${formatMoney(best.sales)}).`
    : 'No sales in this period.';
  return html`<figure class="chart">
    <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label=${summary} preserveAspectRatio="xMidYMid meet">
      ${ticks.map(
        (tick) => svg`<g class="tick">
          <line x1=${LEFT} x2=${WIDTH} y1=${y(tick)} y2=${y(tick)}></line>
          <text x=${LEFT - 6} y=${y(tick) + 4} text-anchor="end">${axisMoney(tick)}</text>
        </g>`,
      )}
      ${report.series.map(
        (bucket, index) => svg`<rect class="bar" x=${LEFT + index * slot + slot * 0.15} width=${slot * 0.7}
            y=${y(bucket.sales.amount)} height=${Math.max(0, TOP + plotHeight - y(bucket.sales.amount))}>
            <title>${dayLabel(bucket.start)}: ${formatMoney(bucket.sales)}, ${bucket.orders} ${bucket.orders === 1 ? 'order' : 'orders'}</title>
          </rect>
          ${index % labelEvery === 0 ? svg`<text class="label" x=${LEFT + index * slot + slot / 2} y=${HEIGHT - 6} text-anchor="middle">${dayLabel(bucket.start)}</text>` : ''}`,
      )}
    </svg>
    <figcaption class="muted">${summary}</figcaption>
    <table class="visually-hidden">
      <caption>Sales by ${report.interval}</caption>
      <thead><tr><th scope="col">From</th><th scope="col">Sales</th><th scope="col">Orders</th></tr></thead>
      <tbody>${report.series.map(
        (bucket) =>
          html`<tr><td>${dayLabel(bucket.start)}</td><td>${formatMoney(bucket.sales)}</td><td>${bucket.orders}</td></tr>`,
      )}</tbody>
    </table>
  </figure>`;
}
