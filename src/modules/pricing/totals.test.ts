import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, divideHalfEven } from './money.ts';
import { type PricingInput, priceCart, shareOf } from './totals.ts';

const line = fc.record({
  id: fc.uuid(),
  unitAmount: fc.integer({ min: 0, max: 1_000_000 }),
  quantity: fc.integer({ min: 1, max: 99 }),
});
const promotion = fc.oneof(
  fc.constant(undefined),
  fc.record({
    code: fc.constant('P'),
    kind: fc.constant('percentage' as const),
    value: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record({
    code: fc.constant('F'),
    kind: fc.constant('fixed' as const),
    value: fc.integer({ min: 1, max: 5_000_000 }),
  }),
  fc.record({ code: fc.constant('S'), kind: fc.constant('free_shipping' as const), value: fc.constant(0) }),
);
const cart: fc.Arbitrary<PricingInput> = fc.record({
  currency: fc.constant('EUR'),
  lines: fc.uniqueArray(line, { minLength: 1, maxLength: 8, selector: (l) => l.id }),
  promotion,
  shippingAmount: fc.integer({ min: 0, max: 10_000 }),
  taxRateBasisPoints: fc.integer({ min: 0, max: 3000 }),
  taxInclusive: fc.boolean(),
});

/** An exact rational n/d (d > 0), for a reference that never rounds until it is told to. */
interface Ratio {
  n: bigint;
  d: bigint;
}
/** The nearest integer to r, ties to even: the reference's own rounding, not money.ts's. */
function nearestEven({ n, d }: Ratio): number {
  const floor = n >= 0n ? n / d : -((-n + d - 1n) / d);
  const rest: Ratio = { n: n - floor * d, d };
  const twice = 2n * rest.n;
  const up = twice > rest.d || (twice === rest.d && floor % 2n !== 0n);
  return Number(up ? floor + 1n : floor);
}

/**
 * The totals computed from the rule as written, in exact rationals: tax on a line is its
 * discounted amount times the rate (exclusive) or the part of it that the rate makes up
 * (inclusive: gross × r / (1 + r)), each rounded once, half to even.
 */
function reference(input: PricingInput, discounts: number[]) {
  const rate = BigInt(input.taxRateBasisPoints ?? 0);
  const exactTax = (amount: number): Ratio =>
    input.taxInclusive
      ? { n: BigInt(amount) * rate, d: 10_000n + rate }
      : { n: BigInt(amount) * rate, d: 10_000n };
  const amounts = input.lines.map((line, index) => line.unitAmount * line.quantity - discounts[index]);
  const shipping = input.promotion?.kind === 'free_shipping' ? 0 : (input.shippingAmount ?? 0);
  const taxes = [...amounts, shipping].map((amount) => nearestEven(exactTax(amount)));
  const taxTotal = taxes.reduce((a, b) => a + b, 0);
  const gross = amounts.reduce((a, b) => a + b, 0) + shipping;
  return { taxes, taxTotal, total: input.taxInclusive ? gross : gross + taxTotal };
}

describe('money arithmetic', () => {
  it('rounds half to even', () => {
    expect([5n, 15n, 25n, -5n, 14n, 16n].map((n) => divideHalfEven(n, 10n))).toEqual([
      0n,
      2n,
      2n,
      0n,
      1n,
      2n,
    ]);
  });

  it('allocates a total over weights exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 10 }),
        (total, weights) => {
          const parts = allocate(total, weights);
          expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
          for (const part of parts) expect(part).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});

describe('priceCart', () => {
  it('total = subtotal − discounts + shipping (+ tax unless the prices contain it), never negative, for any cart', () => {
    fc.assert(
      fc.property(cart, (input) => {
        const priced = priceCart(input);
        expect(priced.taxInclusive).toBe(input.taxInclusive);
        expect(priced.total).toBe(
          priced.subtotal -
            priced.discountTotal +
            priced.shippingTotal +
            (input.taxInclusive ? 0 : priced.taxTotal),
        );
        expect(priced.total).toBeGreaterThanOrEqual(0);
        expect(priced.discountTotal).toBeLessThanOrEqual(priced.subtotal);
        expect(priced.lines.reduce((sum, l) => sum + l.discount, 0)).toBe(priced.discountTotal);
        expect(
          priced.lines.reduce((sum, l) => sum + l.total, 0) +
            priced.shippingTotal +
            (input.taxInclusive ? 0 : priced.shippingTax),
        ).toBe(priced.total);
        for (const l of priced.lines) expect(Number.isInteger(l.tax) && l.tax >= 0).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees, in both tax modes, with the rule computed in exact rationals', () => {
    fc.assert(
      fc.property(cart, (input) => {
        const priced = priceCart(input);
        const expected = reference(
          input,
          priced.lines.map((l) => l.discount),
        );
        expect([...priced.lines.map((l) => l.tax), priced.shippingTax]).toEqual(expected.taxes);
        expect(priced.taxTotal).toBe(expected.taxTotal);
        expect(priced.total).toBe(expected.total);
      }),
      { numRuns: 500 },
    );
  });

  it('charges in an inclusive region exactly the gross amounts the shopper saw, whatever the rate', () => {
    fc.assert(
      fc.property(cart, (input) => {
        const inclusive = priceCart({ ...input, taxInclusive: true });
        const untaxed = priceCart({ ...input, taxInclusive: false, taxRateBasisPoints: 0 });
        expect(inclusive.total).toBe(untaxed.total);
        for (const l of inclusive.lines) {
          expect(l.total).toBe(l.subtotal - l.discount);
          expect(l.tax).toBeGreaterThanOrEqual(0);
          expect(l.tax).toBeLessThanOrEqual(l.total);
        }
        // The net left after extracting the tax, taxed the exclusive way, lands within a unit of it.
        const rate = input.taxRateBasisPoints ?? 0;
        for (const l of inclusive.lines) {
          const net = l.total - l.tax;
          const readded = priceCart({
            currency: 'EUR',
            lines: [{ id: l.id, unitAmount: net, quantity: 1 }],
            taxRateBasisPoints: rate,
          });
          expect(Math.abs(readded.total - l.total)).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('extracts 19 % VAT from German shelf prices per line, half to even', () => {
    const priced = priceCart({
      currency: 'EUR',
      lines: [
        { id: 'a', unitAmount: 1190, quantity: 1 },
        { id: 'b', unitAmount: 999, quantity: 3 },
      ],
      promotion: { code: 'TEN', kind: 'percentage', value: 10 },
      shippingAmount: 490,
      taxRateBasisPoints: 1900,
      taxInclusive: true,
    });
    // 10 % of 4187 = 418.7 → 419, split 119/300 by subtotal (1190:2997). Contained tax:
    // 1071 × 19/119 = 171.0 → 171; 2697 × 19/119 = 430.6 → 431; shipping 490 → 78.2 → 78.
    expect(priced.lines.map((l) => [l.discount, l.tax, l.total])).toEqual([
      [119, 171, 1071],
      [300, 431, 2697],
    ]);
    expect(priced).toMatchObject({
      subtotal: 4187,
      discountTotal: 419,
      shippingTotal: 490,
      shippingTax: 78,
      taxTotal: 680,
      total: 4258,
      taxInclusive: true,
    });
  });

  it('a full return refunds exactly what was paid', () => {
    fc.assert(
      fc.property(cart, (input) => {
        const priced = priceCart(input);
        const everything = new Map(priced.lines.map((l) => [l.id, l.quantity]));
        expect(shareOf(priced, new Map(), everything)).toBe(priced.total);
      }),
      { numRuns: 300 },
    );
  });

  it('partial returns, in any order and any split, never refund more than was paid in sum', () => {
    fc.assert(
      fc.property(cart, fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), (input, picks) => {
        const priced = priceCart(input);
        const returned = new Map<string, number>();
        let refunded = 0;
        for (const pick of picks) {
          const target = priced.lines[pick % priced.lines.length];
          const units = 1 + (pick % 3);
          const batch = new Map([[target.id, units]]);
          refunded += shareOf(priced, returned, batch);
          returned.set(target.id, Math.min(target.quantity, (returned.get(target.id) ?? 0) + units));
          expect(refunded).toBeLessThanOrEqual(priced.total);
        }
        const rest = new Map(priced.lines.map((l) => [l.id, l.quantity - (returned.get(l.id) ?? 0)]));
        expect(refunded + shareOf(priced, returned, rest)).toBe(priced.total);
      }),
      { numRuns: 300 },
    );
  });

  it('applies a 10 % code, 20 % tax and shipping to a concrete cart', () => {
    const priced = priceCart({
      currency: 'EUR',
      lines: [
        { id: 'a', unitAmount: 1999, quantity: 2 },
        { id: 'b', unitAmount: 500, quantity: 1 },
      ],
      promotion: { code: 'TEN', kind: 'percentage', value: 10 },
      shippingAmount: 495,
      taxRateBasisPoints: 2000,
    });
    // 10 % of 4498 = 449.8 → 450, split 400/50 by subtotal; tax 20 % of 3598 → 720 (719.6),
    // of 450 → 90, of shipping 495 → 99.
    expect(priced.lines.map((l) => [l.discount, l.tax, l.total])).toEqual([
      [400, 720, 4318],
      [50, 90, 540],
    ]);
    expect(priced).toMatchObject({
      subtotal: 4498,
      discountTotal: 450,
      shippingTotal: 495,
      shippingTax: 99,
      taxTotal: 909,
      total: 5452,
    });
  });
});
