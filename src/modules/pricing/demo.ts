import { type Db, transact } from '../../platform/db/index.ts';
import { promotionFields } from './service.ts';
import { pricingStore as store } from './store.ts';

/** Demo tax rates in basis points; the US has no federal sales tax and states are not modelled. */
const TAX_RATES = [
  { country: 'DE', rate: 1900, name: 'MwSt' },
  { country: 'FR', rate: 2000, name: 'TVA' },
  { country: 'GB', rate: 2000, name: 'VAT' },
  { country: 'NL', rate: 2100, name: 'BTW' },
  { country: 'US', rate: 0, name: 'No sales tax' },
];

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
    for (const tax of TAX_RATES) await store.insertTaxRateIfMissing(tx, tax.country, tax.rate, tax.name);
    for (const method of SHIPPING_METHODS) await store.insertShippingMethodIfMissing(tx, method);
    for (const { id, ...promotion } of PROMOTIONS) {
      await store.insertPromotion(tx, id, promotion.code, promotionFields(promotion));
    }
  });
}
