import { type Db, transact } from '../../platform/db/index.ts';
import { promotionFields } from './service.ts';
import { pricingStore as store } from './store.ts';

/**
 * Demo tax rates in basis points per class (standard, reduced, zero); the US has no federal sales
 * tax and states are not modelled.
 */
const COUNTRY_RATES = [
  { country: 'DE', standard: [1900, 'MwSt'], reduced: [700, 'ermäßigte MwSt'] },
  { country: 'FR', standard: [2000, 'TVA'], reduced: [550, 'TVA réduite'] },
  { country: 'GB', standard: [2000, 'VAT'], reduced: [500, 'Reduced VAT'] },
  { country: 'NL', standard: [2100, 'BTW'], reduced: [900, 'Laag BTW-tarief'] },
  { country: 'US', standard: [0, 'No sales tax'], reduced: [0, 'No sales tax'] },
] as const;
const TAX_RATES = COUNTRY_RATES.flatMap(({ country, standard, reduced }) => [
  { country, taxClass: 'standard', rate: standard[0], name: standard[1] },
  { country, taxClass: 'reduced', rate: reduced[0], name: reduced[1] },
  { country, taxClass: 'zero', rate: 0, name: 'Zero rate' },
]);

/**
 * Standard and express per demo country. A method has one currency and a cart takes only methods
 * in its own, so Europe ships in EUR and the US in USD. Fixed ids keep the demo deterministic.
 */
const SHIPPING_METHODS = [
  ['DE', 'EUR', 495, 2, 4, 995, 1, 2],
  ['FR', 'EUR', 695, 3, 5, 1295, 1, 2],
  ['GB', 'EUR', 995, 3, 6, 1995, 1, 3],
  ['NL', 'EUR', 595, 2, 4, 1195, 1, 2],
  ['US', 'USD', 1499, 5, 10, 2999, 2, 4],
].flatMap(
  ([country, currency, standard, standardMin, standardMax, express, expressMin, expressMax], index) => [
    {
      id: `01936b2a-0000-7000-8000-${String(index * 2 + 1).padStart(12, '0')}`,
      name: 'Standard',
      country: country as string,
      priceAmount: standard as number,
      currency: currency as string,
      minDays: standardMin as number,
      maxDays: standardMax as number,
    },
    {
      id: `01936b2a-0000-7000-8000-${String(index * 2 + 2).padStart(12, '0')}`,
      name: 'Express',
      country: country as string,
      priceAmount: express as number,
      currency: currency as string,
      minDays: expressMin as number,
      maxDays: expressMax as number,
    },
  ],
);

const PROMOTIONS = [
  {
    id: '01936b2a-0000-7000-8000-100000000001',
    code: 'WELCOME10',
    kind: 'percentage' as const,
    value: 10,
    minSubtotal: 3000,
  },
  {
    id: '01936b2a-0000-7000-8000-100000000002',
    code: 'FREESHIP',
    kind: 'free_shipping' as const,
    value: 0,
    minSubtotal: 5000,
  },
];

/**
 * Loads the demo pricing rules: tax rates, shipping methods and promotion codes. Idempotent (what
 * exists is left as it is), so concurrent first starts or a repeated seed do no harm.
 */
export async function seedPricingDemo(db: Db): Promise<void> {
  await transact(db, async (tx) => {
    for (const rate of TAX_RATES) await store.insertTaxRateIfMissing(tx, rate);
    for (const method of SHIPPING_METHODS) await store.insertShippingMethodIfMissing(tx, method);
    for (const { id, ...promotion } of PROMOTIONS) {
      await store.insertPromotion(tx, id, promotion.code, promotionFields(promotion));
    }
  });
}
