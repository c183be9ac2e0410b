/**
 * Integer money arithmetic in minor units. No floating point touches an amount: ratios are
 * applied with BigInt numerators and rounded explicitly.
 */

/** round(numerator / denominator) with ties to even (banker's rounding); denominator > 0. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n;
  const n = negative ? -numerator : numerator;
  const quotient = n / denominator;
  const remainder = n % denominator;
  const twice = remainder * 2n;
  let rounded = quotient;
  if (twice > denominator || (twice === denominator && quotient % 2n === 1n)) rounded += 1n;
  return negative ? -rounded : rounded;
}

/** amount × basisPoints / 10 000, half-to-even. */
export function applyBasisPoints(amount: number, basisPoints: number): number {
  return Number(divideHalfEven(BigInt(amount) * BigInt(basisPoints), 10_000n));
}

/**
 * The tax contained in a gross amount at `basisPoints`: gross × rate / (10 000 + rate),
 * half-to-even. The one rounding rule of tax-inclusive prices, applied per line.
 */
export function containedTax(gross: number, basisPoints: number): number {
  return Number(divideHalfEven(BigInt(gross) * BigInt(basisPoints), 10_000n + BigInt(basisPoints)));
}

/**
 * Splits `total` over `weights` in proportion, so the parts sum to exactly `total` (largest
 * remainder method; ties go to the earlier weight, so the split is deterministic).
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const bigTotal = BigInt(total);
  const bigSum = BigInt(sum);
  const parts = weights.map((weight) => (bigTotal * BigInt(weight)) / bigSum);
  const remainders = weights.map((weight, index) => ({ index, rest: (bigTotal * BigInt(weight)) % bigSum }));
  let left = bigTotal - parts.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.rest === b.rest ? a.index - b.index : a.rest > b.rest ? -1 : 1));
  for (const { index } of remainders) {
    if (left <= 0n) break;
    parts[index] += 1n;
    left -= 1n;
  }
  return parts.map(Number);
}

/** The share of `total` that `units` of `outOf` carry, floored: cumulative shares never overshoot. */
export function cumulativeShare(total: number, units: number, outOf: number): number {
  if (units >= outOf) return total;
  return Number((BigInt(total) * BigInt(units)) / BigInt(outOf));
}
