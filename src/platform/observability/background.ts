import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/** Handles an error that must not fail the work it happened in. */
export type ReportError = (error: unknown) => void;

/** Gives each component its reporter; one per system, since the counter is registered once. */
export type BackgroundErrors = (component: string) => ReportError;

const LOG_EVERY_MS = 30_000;

/**
 * Errors handled in the background (a cache that is away, an idle pooled connection dropped, a
 * broadcast nobody heard) are counted, and logged at most once per component every 30 s, so an
 * outage is visible without flooding the log.
 */
export function backgroundErrors(logger: Logger, metrics: Metrics): BackgroundErrors {
  const counted = metrics.counter('background_errors_total', 'Errors handled without failing a request', [
    'component',
  ]);
  const lastLogged = new Map<string, number>();
  return (component) => (error) => {
    counted.inc({ component });
    const now = Date.now();
    if (now - (lastLogged.get(component) ?? -Infinity) < LOG_EVERY_MS) return;
    lastLogged.set(component, now);
    logger.warn({ err: error, component }, `${component}: error handled in the background`);
  };
}
