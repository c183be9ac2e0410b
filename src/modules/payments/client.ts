import { setTimeout as sleep } from 'node:timers/promises';
import CircuitBreaker from 'opossum';
import { timeoutSignal } from '../../platform/context.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { injectTraceHeaders, SpanKind, withSpan } from '../../platform/observability/tracing.ts';
import { ProviderRejection, paymentProviderUnavailable } from './errors.ts';
import { createJsonPoster, type JsonAnswer } from './transport.ts';

/** The provider's view of an authorization (the sandbox's wire format). */
export interface ProviderAuthorization {
  id: string;
  reference: string;
  status: 'authorized' | 'declined' | 'captured' | 'voided';
  amount: number;
  currency: string;
  capturedAmount: number;
  refundedAmount: number;
}

export interface ProviderRefund {
  id: string;
  authorizationId: string;
  amount: number;
  capturedAmount: number;
  refundedAmount: number;
}

export interface ProviderReversal {
  reference: string;
  voided: string[];
}

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

export interface PaymentsClientOptions {
  baseUrl: string;
  /** Budget of one attempt; the caller's signal bounds the whole operation, retries included. */
  timeoutMs: number;
  metrics: Metrics;
  logger: Logger;
  retry?: Partial<RetryOptions>;
  breaker?: Partial<BreakerOptions>;
  /** Connections kept open to the provider; more calls than this wait for one. */
  maxSockets?: number;
}

/**
 * Every call: the idempotency key shared by all retries of this operation, and the caller's
 * deadline. Without a signal the call is still bounded: attempts times the per-attempt timeout.
 */
export interface CallOptions {
  key: string;
  signal?: AbortSignal;
}

export interface PaymentsClient {
  authorize(
    input: { amount: number; currency: string; token: string; reference: string },
    options: CallOptions,
  ): Promise<ProviderAuthorization>;
  capture(authorizationId: string, options: CallOptions): Promise<ProviderAuthorization>;
  void(authorizationId: string, options: CallOptions): Promise<ProviderAuthorization>;
  refund(authorizationId: string, amount: number, options: CallOptions): Promise<ProviderRefund>;
  /** Voids whatever was authorized under `reference`, for when an authorization's answer never came. */
  reverse(reference: string, options: CallOptions): Promise<ProviderReversal>;
  /** Throws the breaker's fast 503 while it is open, so callers can refuse work before starting it. */
  assertAvailable(): void;
  close(): void;
}

export type Operation = 'authorize' | 'capture' | 'void' | 'refund' | 'reverse';

interface ProviderRequest {
  operation: Operation;
  path: string;
  body: unknown;
  key: string;
}

/** A failure worth retrying: the provider may answer differently next time (network, timeout, 5xx, 429). */
class TransientProviderError extends Error {
  override name = 'TransientProviderError';
}

const DEFAULT_RETRY: RetryOptions = { attempts: 3, baseDelayMs: 100, maxDelayMs: 2000 };
const DEFAULT_BREAKER: BreakerOptions = {
  resetTimeoutMs: 10_000,
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingWindowMs: 10_000,
};
const BREAKER_STATE = { closed: 0, half_open: 1, open: 2 } as const;

export function createPaymentsClient(options: PaymentsClientOptions): PaymentsClient {
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
  const poster = createJsonPoster({ maxSockets: options.maxSockets ?? 64 });
  const breakerState = options.metrics.gauge(
    'payments_circuit_breaker_state',
    'Payment provider circuit breaker: 0 closed, 1 half-open, 2 open',
  );

  /** One HTTP attempt under its own timeout, itself bounded by the caller's signal. */
  async function attempt(request: ProviderRequest, signal: AbortSignal | undefined): Promise<unknown> {
    const timeout = timeoutSignal(options.timeoutMs, signal);
    const attemptSignal = timeout.signal;
    let answer: JsonAnswer;
    try {
      const url = new URL(request.path, options.baseUrl);
      answer = await withSpan(
        `payments ${request.operation}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': 'POST',
            'url.full': url.href,
            'payments.operation': request.operation,
          },
        },
        () =>
          poster.post(
            url,
            JSON.stringify(request.body),
            injectTraceHeaders({ 'content-type': 'application/json', 'idempotency-key': request.key }),
            attemptSignal,
          ),
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const what = attemptSignal.aborted ? `no answer within ${options.timeoutMs} ms` : 'network error';
      throw new TransientProviderError(`payment provider ${request.operation}: ${what}`, { cause: error });
    } finally {
      timeout.clear();
    }
    const { status } = answer;
    if (status >= 500 || status === 429 || status === 408) {
      throw new TransientProviderError(`payment provider ${request.operation} answered ${status}`);
    }
    const body = parseObject(answer.text);
    // An answer we cannot read tells us nothing; asking again with the same key is safe.
    if (!body) throw new TransientProviderError(`payment provider ${request.operation}: unreadable answer`);
    // A decline is an answer, not a failure of the provider.
    if ((status >= 200 && status < 300) || (status === 402 && body.status === 'declined')) return body;
    throw new ProviderRejection(status, String(body.code ?? 'unknown'), String(body.message ?? ''));
  }

  const breaker = new CircuitBreaker(attempt, {
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

  async function call<T>(request: ProviderRequest, signal: AbortSignal | undefined): Promise<T> {
    const count = (outcome: string) => outcomes.inc({ operation: request.operation, outcome });
    for (let attemptNumber = 1; ; attemptNumber++) {
      if (signal?.aborted) {
        count('aborted');
        throw signal.reason;
      }
      try {
        const body = (await breaker.fire(request, signal)) as T & { status?: string };
        count(body.status === 'declined' ? 'declined' : 'success');
        return body;
      } catch (error) {
        if (CircuitBreaker.isOurError(error as Error)) {
          count('unavailable');
          throw paymentProviderUnavailable(
            'the payment provider is failing; calls are paused',
            secondsUntilTrial(),
            error,
          );
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
        retries.inc({ operation: request.operation });
        options.logger.debug(
          { err: error, operation: request.operation, attemptNumber },
          'retrying payment call',
        );
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
    authorize: (input, { key, signal }) =>
      call({ operation: 'authorize', path: '/v1/authorizations', body: input, key }, signal),
    capture: (id, { key, signal }) =>
      call(
        { operation: 'capture', path: `/v1/authorizations/${encodeURIComponent(id)}/capture`, body: {}, key },
        signal,
      ),
    void: (id, { key, signal }) =>
      call(
        { operation: 'void', path: `/v1/authorizations/${encodeURIComponent(id)}/void`, body: {}, key },
        signal,
      ),
    refund: (id, amount, { key, signal }) =>
      call(
        {
          operation: 'refund',
          path: `/v1/authorizations/${encodeURIComponent(id)}/refunds`,
          body: { amount },
          key,
        },
        signal,
      ),
    reverse: (reference, { key, signal }) =>
      call({ operation: 'reverse', path: '/v1/reversals', body: { reference }, key }, signal),
    assertAvailable(): void {
      if (breaker.opened) {
        throw paymentProviderUnavailable(
          'the payment provider is failing; calls are paused',
          secondsUntilTrial(),
          undefined,
        );
      }
    },
    close() {
      breaker.shutdown();
      poster.close();
    },
  };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
