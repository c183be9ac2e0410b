/** Money in minor units, as the API carries it. */
export interface Amount {
  amount: number;
  currency: string;
}

// Building an Intl.NumberFormat costs far more than using one: one per currency, kept.
const formats = new Map<string, { format: Intl.NumberFormat; digits: number }>();

/** Minor units to a display amount ("€12.50"), using the currency's own number of decimals. */
export function formatMoney(money: Amount): string {
  let known = formats.get(money.currency);
  if (!known) {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency: money.currency });
    known = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    formats.set(money.currency, known);
  }
  return known.format.format(money.amount / 10 ** known.digits);
}
