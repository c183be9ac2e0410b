import { decimalString, fractionDigits } from '../../src/platform/money.ts';

/** Money as the API carries it: integer minor units and an ISO 4217 code. */
export interface Money {
  amount: number;
  currency: string;
}

// One implementation for the server (CSV export and import) and the pages.
export { decimalString, fractionDigits } from '../../src/platform/money.ts';

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
