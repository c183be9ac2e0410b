import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import { giftCardRoutes } from './routes.ts';
import { createGiftCardService, type GiftCardService } from './service.ts';

export { GiftCardCode, GiftCardDetailSchema, GiftCardSchema, IssuedGiftCardSchema } from './routes.ts';
export type { GiftCard, GiftCardService, OrderGiftCard } from './service.ts';

export interface GiftCardsModule extends AppModule {
  name: 'giftcards';
  service: GiftCardService;
}

/**
 * Gift cards: balances kept as a ledger of signed entries that never sums below zero, issued by
 * staff, spent at checkout before the payment token pays the rest, credited back by refunds.
 */
export function createGiftCards(deps: { db: Db }): GiftCardsModule {
  const service = createGiftCardService(deps);
  return { name: 'giftcards', service, routes: giftCardRoutes(service) };
}
