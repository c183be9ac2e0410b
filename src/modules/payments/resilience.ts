import { setTimeout as sleep } from 'node:timers/promises';
import CircuitBreaker from 'opossum';
import { timeoutSignal } from '../../platform/context.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { ProviderRejection, paymentProviderUnavailable } from './errors.ts';
import { type Operation, TransientProviderError } from './provider.ts';

export interface RetryOptions {
  /** Attempts per operation, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface BreakerOptions {
  /** How long the breaker stays open before letting one trial call through. */
  resetTimeoutMs: number;
  /** Failure percentage in the rolling window that opens the breaker. */
  errorThresholdPercentage: number;
  /** Calls in the window before the percentage counts at all. */
  volumeThreshold: number;
  rollingWindowMs: number;
}

export interface ResilienceOptions {
  /** Budget of one attempt; the caller's signal bounds the whole operation, retries included. */
  timeoutMs: number;
  metrics: Metrics;
  logger: Logger;
  retry?: Partial<RetryOptions>;
  breaker?: Partial<BreakerOptions>;
}

/** One try at an operation, under a signal that ends with the attempt's timeout or the caller's deadline. */
export type Attempt<T> = (signal: AbortSignal) => Promise<T>;

export interface ResilientCalls {
  /**
   * Runs an operation: each attempt under its own timeout, transient failures retried with full
   * jitter under the same idempotency key (the adapter's), and a circuit breaker that fails fast
   * with 503 PAYMENT_PROVIDER_UNAVAILABLE while the provider keeps failing.
   */
  run<T>(operation: Operation, attempt: Attempt<T>, signal: AbortSignal | undefined): Promise<T>;
  assertAvailable(): void;
  close(): void;
}

const DEFAULT_RETRY: RetryOptions = { attempts: 3, baseDelayMs: 100, maxDelayMs: 2000 };
const DEFAULT_BREAKER: BreakerOptions = {
  resetTimeoutMs: 10_000,
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingWindowMs: 10_000,
};
const BREAKER_STATE = { closed: 0, half_open: 1, open: 2 } as const;

/** Timeouts, retries, the breaker and their metrics: the same for every provider adapter. */
export function createResilientCalls(options: ResilienceOptions): ResilientCalls {
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const breakerOptions = { ...DEFAULT_BREAKER, ...options.breaker };
  const outcomes = options.metrics.counter(
    'payments_provider_calls_total',
    'Payment provider operations by outcome (success, declined, rejected, failed, unavailable, aborted, error)',
    ['operation', 'outcome'],
  );
  const retries = options.metrics.counter(
    'payments_provider_retries_total',
    'Retries of payment provider calls after transient failures',
    ['operation'],
  );
  const breakerState = options.metrics.gauge(
    'payments_circuit_breaker_state',
    'Payment provider circuit breaker: 0 closed, 1 half-open, 2 open',
  );

  /** One attempt under its own timeout, itself bounded by the caller's signal. */
  async function bounded(
    operation: Operation,
    attempt: Attempt<unknown>,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const timeout = timeoutSignal(options.timeoutMs, signal);
    try {
      return await attempt(timeout.signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof TransientProviderError || error instanceof ProviderRejection) throw error;
      if (timeout.signal.aborted)
        throw new TransientProviderError(
          `payment provider ${operation}: no answer within ${options.timeoutMs} ms`,
          {
            cause: error,
          },
        );
      throw error;
    } finally {
      timeout.clear();
    }
  }

  const breaker = new CircuitBreaker(bounded, {
    timeout: false,
    resetTimeout: breakerOptions.resetTimeoutMs,
    errorThresholdPercentage: breakerOptions.errorThresholdPercentage,
    volumeThreshold: breakerOptions.volumeThreshold,
    rollingCountTimeout: breakerOptions.rollingWindowMs,
    // Only the provider misbehaving counts against it; rejections and our own deadline do not.
    errorFilter: (error: unknown) => !(error instanceof TransientProviderError),
  });
  let openedAt = 0;
  breakerState.set(BREAKER_STATE.closed);
  breaker.on('open', () => {
    openedAt = Date.now();
    breakerState.set(BREAKER_STATE.open);
    options.logger.warn(
      { resetTimeoutMs: breakerOptions.resetTimeoutMs },
      'payment provider circuit breaker opened: failing fast',
    );
  });
  breaker.on('halfOpen', () => breakerState.set(BREAKER_STATE.half_open));
  breaker.on('close', () => {
    breakerState.set(BREAKER_STATE.closed);
    options.logger.info('payment provider circuit breaker closed: provider healthy again');
  });

  const secondsUntilTrial = () =>
    Math.max(1, Math.ceil((openedAt + breakerOptions.resetTimeoutMs - Date.now()) / 1000));
  const paused = (cause: unknown) =>
    paymentProviderUnavailable(
      'the payment provider is failing; calls are paused',
      secondsUntilTrial(),
      cause,
    );

  async function run<T>(
    operation: Operation,
    attempt: Attempt<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const count = (outcome: string) => outcomes.inc({ operation, outcome });
    for (let attemptNumber = 1; ; attemptNumber++) {
      if (signal?.aborted) {
        count('aborted');
        throw signal.reason;
      }
      try {
        const answer = (await breaker.fire(operation, attempt, signal)) as T & { status?: string };
        count(answer.status === 'declined' ? 'declined' : 'success');
        return answer;
      } catch (error) {
        if (CircuitBreaker.isOurError(error as Error)) {
          count('unavailable');
          throw paused(error);
        }
        if (!(error instanceof TransientProviderError)) {
          count(error instanceof ProviderRejection ? 'rejected' : signal?.aborted ? 'aborted' : 'error');
          throw error;
        }
        if (attemptNumber >= retry.attempts) {
          count('failed');
          throw paymentProviderUnavailable(
            `the payment provider did not answer after ${attemptNumber} attempts`,
            1,
            error,
          );
        }
        retries.inc({ operation });
        options.logger.debug({ err: error, operation, attemptNumber }, 'retrying payment call');
        // Full jitter: spread the retries of many callers instead of hitting the provider in waves.
        const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attemptNumber - 1));
        await sleep(Math.random() * ceiling, undefined, { signal }).catch(() => {
          count('aborted');
          throw signal?.reason;
        });
      }
    }
  }

  return {
    run,
    assertAvailable() {
      if (breaker.opened) throw paused(undefined);
    },
    close: () => breaker.shutdown(),
  };
}
