import { type CloudEvent, cloudEvent } from '../../platform/events/index.ts';
import type { StockLevel } from './store.ts';

export const INVENTORY_SOURCE = '/emporium/inventory';
/** The events inventory emits (webhooks accept subscriptions to these). */
export const INVENTORY_EVENT_TYPES = ['inventory.low'] as const;

/** A variant's available stock fell to its threshold or below (once per crossing, not per sale). */
export function stockLow(
  item: Pick<StockLevel, 'variantId' | 'sku' | 'onHand' | 'reserved' | 'lowStockThreshold'>,
): CloudEvent {
  return cloudEvent(INVENTORY_SOURCE, 'inventory.low', item.variantId, {
    variantId: item.variantId,
    sku: item.sku,
    available: item.onHand - item.reserved,
    onHand: item.onHand,
    reserved: item.reserved,
    threshold: item.lowStockThreshold,
  });
}
