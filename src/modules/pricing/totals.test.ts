import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, divideHalfEven } from './money.ts';
import { type PricingInput, priceCart, shareOf } from './totals.ts';

const line = fc.record({
  id: fc.uuid(),
  unitAmount: fc.integer({ min: 0, max: 1_000_000 }),
  quantity: fc.integer({ min: 1, max: 99 }),
  productId: fc.constantFrom('p1', 'p2', 'p3'),
  categorySlugs: fc.subarray(['lamps', 'mugs']),
  taxRateBasisPoints: fc.option(fc.constantFrom(0, 550, 700, 1000), { nil: undefined }),
});
const target = fc.option(
  fc.record(
    {
      productIds: fc.subarray(['p1', 'p2', 'p3'], { minLength: 1 }),
      categorySlugs: fc.subarray(['lamps', 'mugs'], { minLength: 1 }),
      minQuantity: fc.integer({ min: 1, max: 10 }),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);
const common = { id: fc.uuid(), target, stackable: fc.boolean() };
const promotion = fc.oneof(
  fc.record({
    ...common,
    code: fc.constant('P'),
    kind: fc.constant('percentage' as const),
    value: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record({
    ...common,
    code: fc.constant('F'),
    kind: fc.constant('fixed' as const),
    value: fc.integer({ min: 1, max: 5_000_000 }),
  }),
  fc.record({
    ...common,
    code: fc.constant('S'),
    kind: fc.constant('free_shipping' as const),
    value: fc.constant(0),
  }),
  fc.record({
    ...common,
    name: fc.constant('3 for 2'),
    kind: fc.constant('buy_x_get_y' as const),
    value: fc.integer({ min: 1, max: 100 }),
    buyQuantity: fc.integer({ min: 1, max: 4 }),
    getQuantity: fc.integer({ min: 1, max: 3 }),
  }),
);
const cart: fc.Arbitrary<PricingInput> = fc.record({
  currency: fc.constant('EUR'),
  lines: fc.uniqueArray(line, { minLength: 1, maxLength: 8, selector: (l) => l.id }),
  promotions: fc.array(promotion, { maxLength: 4 }),
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
function reference(input: PricingInput, discounts: number[], shippedFree: boolean) {
  const exactTax = (amount: number, lineRate?: number): Ratio => {
    const rate = BigInt(lineRate ?? input.taxRateBasisPoints ?? 0);
    return input.taxInclusive
      ? { n: BigInt(amount) * rate, d: 10_000n + rate }
      : { n: BigInt(amount) * rate, d: 10_000n };
  };
  const amounts = input.lines.map((line, index) => line.unitAmount * line.quantity - discounts[index]);
  const shipping = shippedFree ? 0 : (input.shippingAmount ?? 0);
  const taxes = [
    ...amounts.map((amount, index) => nearestEven(exactTax(amount, input.lines[index].taxRateBasisPoints))),
    nearestEven(exactTax(shipping)),
  ];
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
          priced.discounts.some((d) => d.kind === 'free_shipping'),
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
        const untaxed = priceCart({
          ...input,
          lines: input.lines.map((l) => ({ ...l, taxRateBasisPoints: 0 })),
          taxInclusive: false,
          taxRateBasisPoints: 0,
        });
        expect(inclusive.total).toBe(untaxed.total);
        for (const l of inclusive.lines) {
          expect(l.total).toBe(l.subtotal - l.discount);
          expect(l.tax).toBeGreaterThanOrEqual(0);
          expect(l.tax).toBeLessThanOrEqual(l.total);
        }
        // The net left after extracting the tax, taxed the exclusive way, lands within a unit of it.
        for (const [index, l] of inclusive.lines.entries()) {
          const rate = input.lines[index].taxRateBasisPoints ?? input.taxRateBasisPoints ?? 0;
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
      promotions: [{ id: 'ten', code: 'TEN', kind: 'percentage', value: 10 }],
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

  it('explains every discount: the lines of each add up to it, and all add up to the line discounts', () => {
    fc.assert(
      fc.property(cart, (input) => {
        const priced = priceCart(input);
        const perLine = new Map<string, number>();
        for (const discount of priced.discounts) {
          expect(discount.lines.reduce((sum, l) => sum + l.amount, 0)).toBe(discount.amount);
          for (const l of discount.lines) {
            expect(l.amount).toBeGreaterThan(0);
            perLine.set(l.itemId, (perLine.get(l.itemId) ?? 0) + l.amount);
          }
        }
        expect(priced.discounts.reduce((sum, d) => sum + d.amount, 0)).toBe(priced.discountTotal);
        for (const l of priced.lines) {
          expect(l.discount).toBe(perLine.get(l.id) ?? 0);
          expect(l.discount).toBeLessThanOrEqual(l.subtotal);
        }
        // Only lines a promotion targets carry its discount.
        for (const discount of priced.discounts) {
          const promotion = input.promotions!.find((p) => p.id === discount.promotionId)!;
          for (const l of discount.lines) {
            const source = input.lines.find((candidate) => candidate.id === l.itemId)!;
            const { productIds, categorySlugs } = promotion.target ?? {};
            if (productIds?.length || categorySlugs?.length)
              expect(
                productIds?.includes(source.productId!) ||
                  categorySlugs?.some((slug) => source.categorySlugs?.includes(slug)),
              ).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('stops at the first non-stackable promotion that gives something, and only there', () => {
    fc.assert(
      fc.property(cart, (input) => {
        const priced = priceCart(input);
        const order = (input.promotions ?? []).map((p) => p.id);
        const applied = priced.discounts.map((d) => d.promotionId);
        const stopper = (input.promotions ?? []).find((p) => p.stackable === false && applied.includes(p.id));
        if (!stopper) expect(priced.stopped).toEqual([]);
        else {
          expect(applied.at(-1)).toBe(stopper.id);
          expect(priced.stopped).toEqual(order.slice(order.indexOf(stopper.id) + 1));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('buy X get Y takes the cheapest units off, exactly: at 100 % the discount is their sum', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(line, { minLength: 1, maxLength: 6, selector: (l) => l.id }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (lines, buyQuantity, getQuantity) => {
          const priced = priceCart({
            currency: 'EUR',
            lines,
            promotions: [{ id: 'x', kind: 'buy_x_get_y', value: 100, buyQuantity, getQuantity }],
          });
          const units = lines.flatMap((l) => Array.from({ length: l.quantity }, () => l.unitAmount));
          units.sort((a, b) => a - b);
          const free = Math.floor(units.length / (buyQuantity + getQuantity)) * getQuantity;
          expect(priced.discountTotal).toBe(units.slice(0, free).reduce((a, b) => a + b, 0));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('3 for 2 on lamps gives the cheapest lamp away, and a 10 % code after it counts what is left', () => {
    const priced = priceCart({
      currency: 'EUR',
      lines: [
        { id: 'big', unitAmount: 5000, quantity: 2, categorySlugs: ['lamps'] },
        { id: 'small', unitAmount: 2000, quantity: 1, categorySlugs: ['lamps'] },
        { id: 'mug', unitAmount: 1000, quantity: 1, categorySlugs: ['mugs'] },
      ],
      promotions: [
        {
          id: '3for2',
          name: '3 for 2',
          kind: 'buy_x_get_y',
          value: 100,
          buyQuantity: 2,
          getQuantity: 1,
          target: { categorySlugs: ['lamps'] },
        },
        { id: 'ten', code: 'TEN', kind: 'percentage', value: 10 },
      ],
      taxRateBasisPoints: 1900,
      taxInclusive: true,
    });
    // Lamps 5000 + 5000 + 2000: the 2000 one is free. 10 % of what is left (10 000 + 1000) = 1100,
    // split 1000/100 over the big lamps and the mug (the small lamp has nothing left).
    expect(priced.discounts).toEqual([
      {
        promotionId: '3for2',
        name: '3 for 2',
        kind: 'buy_x_get_y',
        amount: 2000,
        lines: [{ itemId: 'small', amount: 2000 }],
      },
      {
        promotionId: 'ten',
        code: 'TEN',
        kind: 'percentage',
        amount: 1100,
        lines: [
          { itemId: 'big', amount: 1000 },
          { itemId: 'mug', amount: 100 },
        ],
      },
    ]);
    expect(priced.total).toBe(13_000 - 3100);
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
      promotions: [{ id: 'ten', code: 'TEN', kind: 'percentage', value: 10 }],
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
