import { AsyncLocalStorage } from 'node:async_hooks';
import { outsideTrace } from './observability/tracing.ts';

/** What every unit of work carries: the deadline/cancellation signal and the request id for logs. */
export interface WorkContext {
  signal: AbortSignal;
  requestId?: string;
  /** The database work done for it so far, when it is counted (each HTTP request is). */
  db?: DbWork;
}

/** Statements and transactions sent to the database: counted, unlike time, the same on every run. */
export interface DbWork {
  statements: number;
  transactions: number;
}

const storage = new AsyncLocalStorage<WorkContext>();

/**
 * Runs `fn` with a context that the database driver and outbound clients read, so a disconnected
 * client or an expired deadline stops queries that have not started yet.
 */
export function runWithContext<T>(context: WorkContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * Runs `fn` outside any request's context: background work a request merely triggers (the outbox
 * relay after a nudge, a broker connection opened by a readiness probe) must not inherit that
 * request's deadline and stop when its client goes away, nor add spans to its trace.
 */
export function runDetached<T>(fn: () => T): T {
  return storage.exit(() => outsideTrace(fn));
}

export function enterContext(context: WorkContext): void {
  storage.enterWith(context);
}

export function currentSignal(): AbortSignal | undefined {
  return storage.getStore()?.signal;
}

/** The current unit of work's database count, if it keeps one. */
export function currentDbWork(): DbWork | undefined {
  return storage.getStore()?.db;
}

/**
 * A signal that aborts after `ms` or when `parent` does, with `clear()` to stop its timer once the
 * work is done. Unlike AbortSignal.timeout, whose timer cannot be cancelled, nothing outlives the
 * work: no timer firing seconds later, no signal kept alive until it does.
 */
export function timeoutSignal(ms: number, parent?: AbortSignal): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')),
    ms,
  );
  timer.unref();
  return {
    signal: parent ? AbortSignal.any([parent, controller.signal]) : controller.signal,
    clear: () => clearTimeout(timer),
  };
}
