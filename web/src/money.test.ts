import { describe, expect, it } from 'vitest';
import { decimalString, formatMoney, parseMoneyInput } from './money.ts';

/** Intl separates with (narrow) no-break spaces; compare them as plain spaces. */
const shown = (...args: Parameters<typeof formatMoney>) => formatMoney(...args).replace(/\s/g, ' ');

describe('money formatting', () => {
  it('shows minor units in the currency’s own digits, exactly', () => {
    expect(shown({ amount: 1999, currency: 'EUR' }, 'en-GB')).toBe('€19.99');
    expect(shown({ amount: 5, currency: 'USD' }, 'en-US')).toBe('$0.05');
    expect(shown({ amount: 1500, currency: 'JPY' }, 'en-US')).toBe('¥1,500');
    expect(shown({ amount: 1234, currency: 'KWD' }, 'en-US')).toBe('KWD 1.234');
    expect(shown({ amount: 123456789, currency: 'EUR' }, 'de-DE')).toBe('1.234.567,89 €');
  });

  it('never goes through floating point, even past 2^53 / 100', () => {
    expect(decimalString({ amount: 9_007_199_254_740_991, currency: 'EUR' })).toBe('90071992547409.91');
    expect(decimalString({ amount: 0, currency: 'EUR' })).toBe('0.00');
    expect(decimalString({ amount: -7, currency: 'EUR' })).toBe('-0.07');
  });

  it('reads typed prices into minor units and refuses what is not one', () => {
    expect(parseMoneyInput('19.99', 'EUR')).toBe(1999);
    expect(parseMoneyInput(' 19,9 ', 'EUR')).toBe(1990);
    expect(parseMoneyInput('20', 'EUR')).toBe(2000);
    expect(parseMoneyInput('0.1', 'EUR')).toBe(10);
    expect(parseMoneyInput('1500', 'JPY')).toBe(1500);
    expect(parseMoneyInput('15.5', 'JPY')).toBeUndefined();
    expect(parseMoneyInput('1.999', 'EUR')).toBeUndefined();
    expect(parseMoneyInput('-1', 'EUR')).toBeUndefined();
    expect(parseMoneyInput('1e3', 'EUR')).toBeUndefined();
    expect(parseMoneyInput('', 'EUR')).toBeUndefined();
  });
});
