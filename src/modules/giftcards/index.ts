import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import { giftCardRoutes } from './routes.ts';
import { createGiftCardService, type GiftCardService } from './service.ts';

export {
  GiftCardCode,
  GiftCardDetailSchema,
  GiftCardSchema,
  IssuedGiftCardSchema,
  StoreCreditSchema,
} from './routes.ts';
export type { BalanceSource, GiftCard, GiftCardService, OrderBalance } from './service.ts';

export interface GiftCardsModule extends AppModule {
  name: 'giftcards';
  service: GiftCardService;
}

/**
 * Gift cards and store credit: balances kept as a ledger of signed entries that never sums below
 * zero. Gift cards are issued by staff and spent by their code; store credit is a customer's own,
 * credited by staff. Either pays first at checkout, the payment token the rest, and refunds credit
 * it back.
 */
export function createGiftCards(deps: {
  db: Db;
  storeCurrency: string;
  accounts: { user(id: string): Promise<unknown> };
}): GiftCardsModule {
  const service = createGiftCardService(deps);
  return { name: 'giftcards', service, routes: giftCardRoutes(service) };
}
