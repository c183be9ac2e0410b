/** Money in minor units, as the API carries it. */
export interface Amount {
  amount: number;
  currency: string;
}

// Building an Intl.NumberFormat costs far more than using one: one per currency, kept.
const formats = new Map<string, { format: Intl.NumberFormat; digits: number }>();

function formatOf(currency: string): { format: Intl.NumberFormat; digits: number } {
  let known = formats.get(currency);
  if (!known) {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency });
    known = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    formats.set(currency, known);
  }
  return known;
}

/** Minor units to a display amount ("€12.50"), using the currency's own number of decimals. */
export function formatMoney(money: Amount): string {
  const known = formatOf(money.currency);
  return known.format.format(money.amount / 10 ** known.digits);
}

/** Digits after the decimal point for a currency (2 for EUR, 0 for JPY, 3 for KWD). */
export const fractionDigits = (currency: string): number => formatOf(currency).digits;

/** The amount as an exact decimal string ("1999" EUR → "19.99"), never through floating point. */
export function decimalString(money: Amount): string {
  const digits = fractionDigits(money.currency);
  const sign = money.amount < 0 ? '-' : '';
  const units = String(Math.abs(money.amount)).padStart(digits + 1, '0');
  return digits === 0 ? sign + units : `${sign}${units.slice(0, -digits)}.${units.slice(-digits)}`;
}
