import { injectTraceHeaders, SpanKind, withSpan } from '../../platform/observability/tracing.ts';
import { ProviderRejection } from './errors.ts';
import type {
  Operation,
  PaymentProvider,
  ProviderAuthorization,
  ProviderRefund,
  ProviderReversal,
} from './provider.ts';
import { TransientProviderError } from './provider.ts';
import { createResilientCalls, type ResilienceOptions } from './resilience.ts';
import { createJsonTransport, type JsonAnswer } from './transport.ts';

export interface SandboxProviderOptions extends ResilienceOptions {
  baseUrl: string;
  /** Connections kept open to the provider; more calls than this wait for one. */
  maxSockets?: number;
}

/**
 * The sandbox provider's adapter: its JSON protocol over pooled HTTP, each call under the
 * shared timeouts, retries and breaker.
 */
export function createSandboxProvider(options: SandboxProviderOptions): PaymentProvider {
  const calls = createResilientCalls(options);
  const transport = createJsonTransport({ maxSockets: options.maxSockets ?? 64 });

  function send<T>(
    operation: Operation,
    request: { method: 'GET' | 'POST'; path: string; body?: unknown; key?: string },
    signal: AbortSignal | undefined,
  ): Promise<T> {
    return calls.run(
      operation,
      async (attemptSignal) => {
        const url = new URL(request.path, options.baseUrl);
        let answer: JsonAnswer;
        try {
          answer = await withSpan(
            `payments ${operation}`,
            {
              kind: SpanKind.CLIENT,
              attributes: {
                'http.request.method': request.method,
                'url.full': url.href,
                'payments.operation': operation,
              },
            },
            () =>
              transport.send(
                request.method,
                url,
                request.body === undefined ? undefined : JSON.stringify(request.body),
                injectTraceHeaders({
                  'content-type': 'application/json',
                  ...(request.key && { 'idempotency-key': request.key }),
                }),
                attemptSignal,
              ),
          );
        } catch (error) {
          if (attemptSignal.aborted) throw error;
          throw new TransientProviderError(`payment provider ${operation}: network error`, { cause: error });
        }
        const { status } = answer;
        if (status >= 500 || status === 429 || status === 408) {
          throw new TransientProviderError(`payment provider ${operation} answered ${status}`);
        }
        const body = parseObject(answer.text);
        // An answer we cannot read tells us nothing; asking again with the same key is safe.
        if (!body) throw new TransientProviderError(`payment provider ${operation}: unreadable answer`);
        // A decline is an answer, not a failure of the provider.
        if ((status >= 200 && status < 300) || (status === 402 && body.status === 'declined'))
          return body as T;
        throw new ProviderRejection(status, String(body.code ?? 'unknown'), String(body.message ?? ''));
      },
      signal,
    );
  }

  const authorizationPath = (id: string, action = '') =>
    `/v1/authorizations/${encodeURIComponent(id)}${action && `/${action}`}`;

  return {
    name: 'sandbox',
    authorize: ({ amount, currency, token, reference }, { key, signal }) =>
      send<ProviderAuthorization>(
        'authorize',
        { method: 'POST', path: '/v1/authorizations', body: { amount, currency, token, reference }, key },
        signal,
      ),
    capture: (id, part, { key, signal }) =>
      send(
        'capture',
        { method: 'POST', path: authorizationPath(id, 'capture'), body: part ? { ...part } : {}, key },
        signal,
      ),
    void: (id, { key, signal }) =>
      send('void', { method: 'POST', path: authorizationPath(id, 'void'), body: {}, key }, signal),
    refund: (id, amount, { key, signal }) =>
      send<ProviderRefund>(
        'refund',
        { method: 'POST', path: authorizationPath(id, 'refunds'), body: { amount }, key },
        signal,
      ),
    reverse: ({ reference }, { key, signal }) =>
      send<ProviderReversal>(
        'reverse',
        { method: 'POST', path: '/v1/reversals', body: { reference }, key },
        signal,
      ),
    lookup: (id, { signal }) => send('lookup', { method: 'GET', path: authorizationPath(id) }, signal),
    assertAvailable: calls.assertAvailable,
    close() {
      calls.close();
      transport.close();
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
