import { AsyncResource } from 'node:async_hooks';
import type * as grpc from '@grpc/grpc-js';
import { runWithContext } from '../../platform/context.ts';
import { badRequest } from '../../platform/errors.ts';
import {
  callContext,
  type GrpcService,
  loadService,
  toServiceError,
  unary,
} from '../../platform/grpc/server.ts';
import type { AccessTokenVerifier } from '../../platform/http/auth.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { InventoryService, Stock } from './service.ts';

interface StockMessage {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

const toMessage = (stock: Stock): StockMessage => ({ ...stock });

const MAX_WATCHED_SKUS = 100;
const MAX_COUNT = 1_000_000_000;
/**
 * Inventory reports a change as it makes it, before its transaction commits; a watcher reads the
 * level again shortly after, and once more later for a slow commit, sending only what differs.
 */
const RECHECK_AFTER_MS = [20, 250];

function requireSku(sku: string): string {
  if (!sku || sku.length > 64) throw badRequest('VALIDATION_FAILED', 'sku must be 1 to 64 characters');
  return sku;
}

function requireCount(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min || value > MAX_COUNT)
    throw badRequest('VALIDATION_FAILED', `${name} must be an integer between ${min} and ${MAX_COUNT}`);
  return value;
}

export interface InventoryGrpc extends GrpcService {
  /** Open WatchStock streams, for tests and metrics. */
  activeWatches(): number;
}

/** emporium.inventory.v1.InventoryService over the inventory service; staff and admins only, like REST. */
export function inventoryGrpc(
  service: InventoryService,
  deps: { verifier: AccessTokenVerifier; logger: Logger },
): InventoryGrpc {
  const { verifier, logger } = deps;
  let watches = 0;

  const watchStock = (call: grpc.ServerWritableStream<{ skus: string[] }, StockMessage>) => {
    const context = callContext(call, verifier);
    const timers = new Set<NodeJS.Timeout>();
    let unsubscribe: (() => void) | undefined;
    let ended = false;
    const end = (error?: unknown) => {
      if (ended) return;
      ended = true;
      watches--;
      unsubscribe?.();
      for (const timer of timers) clearTimeout(timer);
      if (error !== undefined && !context.signal.aborted) call.emit('error', toServiceError(error, logger));
    };
    watches++;
    context.signal.addEventListener('abort', () => end(), { once: true });

    runWithContext({ signal: context.signal }, async () => {
      await context.authorize('inventory:read');
      const skus = [...new Set(call.request.skus.map(requireSku))];
      if (skus.length === 0 || skus.length > MAX_WATCHED_SKUS)
        throw badRequest('VALIDATION_FAILED', `Watch 1 to ${MAX_WATCHED_SKUS} SKUs`);
      const skuOfVariant = new Map<string, string>();
      for (const sku of skus) skuOfVariant.set(await service.variantOf(sku), sku);

      const sent = new Map<string, string>();
      let reads = Promise.resolve();
      const send = (sku: string) => {
        reads = reads
          .then(async () => {
            if (ended) return;
            const stock = await service.get(sku);
            const fingerprint = JSON.stringify(stock);
            if (ended || sent.get(sku) === fingerprint) return;
            sent.set(sku, fingerprint);
            call.write(toMessage(stock));
          })
          .catch(end);
      };
      // Listeners run in the context of whoever changed the stock; the re-reads belong to this call.
      const inThisCall = AsyncResource.bind((work: () => void) => work());
      unsubscribe = service.onStockChange((variantIds) => {
        for (const variantId of variantIds) {
          const sku = skuOfVariant.get(variantId);
          if (!sku) continue;
          for (const delay of RECHECK_AFTER_MS) {
            const timer = setTimeout(() => {
              timers.delete(timer);
              inThisCall(() => send(sku));
            }, delay);
            timers.add(timer);
          }
        }
      });
      // Subscribed first, so a change between here and the first read is not missed.
      for (const sku of skus) send(sku);
      await reads;
    }).catch(end);
  };

  return {
    definition: loadService(
      'emporium/inventory/v1/inventory.proto',
      'emporium.inventory.v1.InventoryService',
    ),
    activeWatches: () => watches,
    implementation: {
      GetStock: unary<{ sku: string }, StockMessage>(verifier, logger, async (request, context) => {
        await context.authorize('inventory:read');
        return toMessage(await service.get(requireSku(request.sku)));
      }),
      SetStock: unary<{ sku: string; onHand: number }, StockMessage>(
        verifier,
        logger,
        async (request, context) => {
          const principal = await context.authorize('inventory:write');
          const onHand = requireCount(request.onHand, 'on_hand', 0);
          return toMessage(await service.setOnHand(requireSku(request.sku), onHand, principal.id));
        },
      ),
      AdjustStock: unary<{ sku: string; delta: number; reason: string }, StockMessage>(
        verifier,
        logger,
        async (request, context) => {
          const principal = await context.authorize('inventory:write');
          const delta = requireCount(request.delta, 'delta', -MAX_COUNT);
          if (delta === 0) throw badRequest('VALIDATION_FAILED', 'delta must not be 0');
          if (!request.reason || request.reason.length > 200)
            throw badRequest('VALIDATION_FAILED', 'reason must be 1 to 200 characters');
          return toMessage(
            await service.adjust(requireSku(request.sku), delta, request.reason, principal.id),
          );
        },
      ),
      WatchStock: watchStock,
    },
  };
}
