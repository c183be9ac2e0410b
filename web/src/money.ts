/** Money as the API carries it: integer minor units and an ISO 4217 code. */
export interface Money {
  amount: number;
  currency: string;
}

/** Digits after the decimal point for a currency (2 for EUR, 0 for JPY, 3 for KWD). */
export function fractionDigits(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}

/** The amount as an exact decimal string ("1999" EUR → "19.99"), never through floating point. */
export function decimalString(money: Money): string {
  const digits = fractionDigits(money.currency);
  const sign = money.amount < 0 ? '-' : '';
  const units = String(Math.abs(money.amount)).padStart(digits + 1, '0');
  return digits === 0 ? sign + units : `${sign}${units.slice(0, -digits)}.${units.slice(-digits)}`;
}

export function formatMoney(money: Money, locale?: string): string {
  const digits = fractionDigits(money.currency);
  const format = new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: money.currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  // A decimal string is formatted exactly (Intl.NumberFormat v3), whatever its size.
  return format.format(decimalString(money) as unknown as number);
}

/**
 * What a person typed as a price ("19.99", "19,9", "20") in minor units; undefined when it is not
 * a non-negative amount with at most the currency's digits after the separator.
 */
export function parseMoneyInput(text: string, currency: string): number | undefined {
  const digits = fractionDigits(currency);
  const match = /^(\d{1,13})(?:[.,](\d*))?$/.exec(text.trim());
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return undefined;
  return Number(match[1] + fraction.padEnd(digits, '0'));
}
