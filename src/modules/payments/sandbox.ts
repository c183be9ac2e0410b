import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { LRUCache } from 'lru-cache';

/**
 * A fake payment service provider: another company's system, reached only over HTTP. State is in
 * memory. It behaves like real PSPs where it matters to us: every POST needs an Idempotency-Key
 * and the same key replays the stored answer without a second effect; refunds never exceed what
 * was captured; faults (latency, 503s, outages) can be switched on to prove the client copes.
 * It forgets, oldest first, beyond `retain` authorizations, idempotency keys and ledger entries
 * (real providers keep keys for about a day), so the default embedded one can run for months.
 */

export interface SandboxFaults {
  /** Delay before every answer. */
  latencyMs: number;
  /** Share (0..1) of answers replaced by 503 after the work was done: the answer is lost, not the effect. */
  errorRate: number;
  /** The next N answers are 503s (after the work), whatever errorRate says: deterministic tests. */
  failNext: number;
  /** Every connection is destroyed on arrival; nothing is processed. */
  outage: boolean;
}

export type LedgerKind = 'authorize' | 'decline' | 'capture' | 'void' | 'refund' | 'reversal';

export interface LedgerEntry {
  kind: LedgerKind;
  authorizationId: string | null;
  reference: string;
  amount: number;
  currency: string;
  key: string;
  time: string;
}

export interface Sandbox {
  url: string;
  setFaults(faults: Partial<SandboxFaults>): SandboxFaults;
  ledger(): LedgerEntry[];
  close(): Promise<void>;
}

export interface SandboxOptions {
  port?: number;
  host?: string;
  /** How long tok_slow takes to answer. */
  slowMs?: number;
  /** Authorizations, idempotency answers and ledger entries kept, each (default 100,000). */
  retain?: number;
}

interface Authorization {
  id: string;
  reference: string;
  token: string;
  status: 'authorized' | 'declined' | 'captured' | 'voided';
  amount: number;
  currency: string;
  capturedAmount: number;
  refundedAmount: number;
}

interface Answer {
  status: number;
  body: unknown;
}

interface StoredAnswer {
  fingerprint: string;
  answer: Promise<Answer>;
}

class ProviderError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const NO_FAULTS: SandboxFaults = { latencyMs: 0, errorRate: 0, failNext: 0, outage: false };
const CURRENCY = /^[A-Z]{3}$/;
const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_RETAIN = 100_000;

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const slowMs = options.slowMs ?? 10_000;
  const retain = options.retain ?? DEFAULT_RETAIN;
  /** Authorization ids by the merchant's reference, for reversals; kept in step with `authorizations`. */
  const byReference = new Map<string, Set<string>>();
  const authorizations = new LRUCache<string, Authorization>({
    max: retain,
    dispose: (auth) => {
      const ids = byReference.get(auth.reference);
      ids?.delete(auth.id);
      if (ids?.size === 0) byReference.delete(auth.reference);
    },
  });
  const reversedReferences = new LRUCache<string, true>({ max: retain });
  const answers = new LRUCache<string, StoredAnswer>({ max: retain });
  let entries: LedgerEntry[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let faults: SandboxFaults = { ...NO_FAULTS };

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const record = (
    kind: LedgerKind,
    auth: Pick<Authorization, 'id' | 'reference' | 'currency'>,
    amount: number,
    key: string,
  ) => {
    entries.push({
      kind,
      authorizationId: auth.id,
      reference: auth.reference,
      amount,
      currency: auth.currency,
      key,
      time: new Date().toISOString(),
    });
    // Trimmed in batches, so keeping the newest `retain` costs O(1) per entry.
    if (entries.length >= 2 * retain) entries = entries.slice(-retain);
  };

  const ledger = () => entries.slice(-retain);

  const view = (auth: Authorization) => ({
    id: auth.id,
    reference: auth.reference,
    status: auth.status,
    amount: auth.amount,
    currency: auth.currency,
    capturedAmount: auth.capturedAmount,
    refundedAmount: auth.refundedAmount,
  });

  const find = (id: string) => {
    const auth = authorizations.get(id);
    if (!auth) throw new ProviderError(404, 'not_found', `authorization ${id} does not exist`);
    return auth;
  };

  async function authorize(body: Record<string, unknown>, key: string): Promise<Answer> {
    const { amount, currency, token, reference } = body;
    if (!Number.isSafeInteger(amount) || (amount as number) <= 0)
      throw new ProviderError(400, 'invalid_amount', 'amount must be a positive integer in minor units');
    if (typeof currency !== 'string' || !CURRENCY.test(currency))
      throw new ProviderError(400, 'invalid_currency', 'currency must be an ISO 4217 code');
    if (typeof token !== 'string' || typeof reference !== 'string' || reference === '')
      throw new ProviderError(400, 'invalid_request', 'token and reference are required');
    if (token === 'tok_error') throw new ProviderError(500, 'internal_error', 'the processor failed');
    if (!['tok_visa', 'tok_declined', 'tok_slow'].includes(token))
      throw new ProviderError(400, 'invalid_token', `unknown payment token ${token}`);
    const declined = token === 'tok_declined' || reversedReferences.has(reference);
    const auth: Authorization = {
      id: `auth_${randomUUID().replaceAll('-', '')}`,
      reference,
      token,
      status: declined ? 'declined' : 'authorized',
      amount: amount as number,
      currency,
      capturedAmount: 0,
      refundedAmount: 0,
    };
    authorizations.set(auth.id, auth);
    const ids = byReference.get(reference) ?? new Set<string>();
    byReference.set(reference, ids.add(auth.id));
    record(declined ? 'decline' : 'authorize', auth, auth.amount, key);
    const answer = declined
      ? { status: 402, body: { ...view(auth), code: 'card_declined' } }
      : { status: 201, body: view(auth) };
    // The work is done at once; only the answer is slow, as when a processor hangs after approving.
    if (token === 'tok_slow') await wait(slowMs);
    return answer;
  }

  /**
   * Captures all that is left, or `amount` of it (one shipment's share); the authorization stays
   * capturable until everything is captured or a capture says it is `final`.
   */
  function capture(id: string, body: Record<string, unknown>, key: string): Answer {
    const auth = find(id);
    if (auth.status === 'captured') throw new ProviderError(409, 'already_captured', 'already captured');
    if (auth.status !== 'authorized')
      throw new ProviderError(409, 'not_capturable', `authorization is ${auth.status}`);
    const left = auth.amount - auth.capturedAmount;
    const amount = body.amount === undefined ? left : body.amount;
    if (!Number.isSafeInteger(amount) || (amount as number) <= 0 || (amount as number) > left)
      throw new ProviderError(400, 'invalid_amount', `the amount to capture must be between 1 and ${left}`);
    auth.capturedAmount += amount as number;
    if (body.final !== false || auth.capturedAmount === auth.amount) auth.status = 'captured';
    record('capture', auth, amount as number, key);
    return { status: 200, body: view(auth) };
  }

  /** Releases what is held; after captures in parts, what was captured stays so. */
  function voidAuthorization(id: string, key: string): Answer {
    const auth = find(id);
    if (auth.status !== 'authorized')
      throw new ProviderError(409, 'not_voidable', `authorization is ${auth.status}`);
    auth.status = auth.capturedAmount > 0 ? 'captured' : 'voided';
    record('void', auth, auth.amount - auth.capturedAmount, key);
    return { status: 200, body: view(auth) };
  }

  function refund(id: string, body: Record<string, unknown>, key: string): Answer {
    const auth = find(id);
    const { amount } = body;
    if (!Number.isSafeInteger(amount) || (amount as number) <= 0)
      throw new ProviderError(400, 'invalid_amount', 'amount must be a positive integer in minor units');
    if (auth.refundedAmount + (amount as number) > auth.capturedAmount)
      throw new ProviderError(409, 'refund_exceeds_captured', 'refunds may not exceed the captured amount');
    auth.refundedAmount += amount as number;
    record('refund', auth, amount as number, key);
    return {
      status: 201,
      body: {
        id: `ref_${randomUUID().replaceAll('-', '')}`,
        authorizationId: id,
        amount,
        status: 'refunded',
        capturedAmount: auth.capturedAmount,
        refundedAmount: auth.refundedAmount,
      },
    };
  }

  /** Technical reversal: cancels by the merchant's reference, for when the authorization's answer never came. */
  function reverse(body: Record<string, unknown>, key: string): Answer {
    const { reference } = body;
    if (typeof reference !== 'string' || reference === '')
      throw new ProviderError(400, 'invalid_request', 'reference is required');
    const matching = [...(byReference.get(reference) ?? [])].flatMap((id) => authorizations.get(id) ?? []);
    if (matching.some((auth) => auth.status === 'captured'))
      throw new ProviderError(409, 'already_captured', 'a captured authorization cannot be reversed');
    reversedReferences.set(reference, true);
    const voided: string[] = [];
    for (const auth of matching.filter((each) => each.status === 'authorized')) {
      auth.status = 'voided';
      voided.push(auth.id);
      record('reversal', auth, auth.amount, key);
    }
    return { status: 200, body: { reference, voided } };
  }

  function route(
    method: string,
    path: string,
    body: Record<string, unknown>,
    key: string,
  ): Promise<Answer> | Answer {
    const parts = path.split('/').filter(Boolean);
    if (method === 'POST' && path === '/v1/authorizations') return authorize(body, key);
    if (method === 'POST' && path === '/v1/reversals') return reverse(body, key);
    if (parts.length === 4 && parts[1] === 'authorizations' && method === 'POST') {
      if (parts[3] === 'capture') return capture(parts[2], body, key);
      if (parts[3] === 'void') return voidAuthorization(parts[2], key);
      if (parts[3] === 'refunds') return refund(parts[2], body, key);
    }
    throw new ProviderError(404, 'not_found', `no route ${method} ${path}`);
  }

  /** Runs a POST once per Idempotency-Key; the same key later (or concurrently) gets the same answer. */
  function once(method: string, path: string, body: Record<string, unknown>, key: string): Promise<Answer> {
    const fingerprint = `${method} ${path} ${JSON.stringify(body)}`;
    const stored = answers.get(key);
    if (stored) {
      if (stored.fingerprint !== fingerprint)
        throw new ProviderError(
          422,
          'idempotency_key_reused',
          'this Idempotency-Key was used for another request',
        );
      return stored.answer;
    }
    const answer = (async () => route(method, path, body, key))().catch((error: unknown) => {
      if (error instanceof ProviderError && error.status < 500)
        return { status: error.status, body: { code: error.code, message: error.message } };
      throw error;
    });
    answers.set(key, { fingerprint, answer });
    // A failure on the provider's side is not an answer to keep: a retry may do the work.
    answer.catch(() => {
      if (answers.get(key)?.answer === answer) answers.delete(key);
    });
    return answer;
  }

  async function handle(request: http.IncomingMessage): Promise<Answer> {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://sandbox').pathname;
    const body = await readJson(request);
    if (path === '/v1/faults') {
      if (method === 'POST') faults = { ...faults, ...pickFaults(body) };
      return { status: 200, body: faults };
    }
    if (path === '/v1/ledger' && method === 'GET') return { status: 200, body: { entries: ledger() } };
    if (faults.latencyMs > 0) await wait(faults.latencyMs);
    let answer: Answer;
    if (method === 'GET' && path.startsWith('/v1/authorizations/')) {
      answer = { status: 200, body: view(find(path.slice('/v1/authorizations/'.length))) };
    } else if (method === 'POST') {
      const key = request.headers['idempotency-key'];
      if (typeof key !== 'string' || key === '' || key.length > 255)
        throw new ProviderError(
          400,
          'idempotency_key_required',
          'POST requests need an Idempotency-Key header',
        );
      answer = await once(method, path, body, key);
    } else {
      throw new ProviderError(404, 'not_found', `no route ${method} ${path}`);
    }
    if (faults.failNext > 0 || Math.random() < faults.errorRate) {
      if (faults.failNext > 0) faults.failNext -= 1;
      return { status: 503, body: { code: 'unavailable', message: 'injected fault: the answer was lost' } };
    }
    return answer;
  }

  const server = http.createServer((request, response) => {
    const isControl = request.url?.startsWith('/v1/faults') || request.url?.startsWith('/v1/ledger');
    // Control requests still need a way in, so an outage is enforced per request, not per socket.
    if (faults.outage && !isControl) {
      request.socket.destroy();
      return;
    }
    handle(request)
      .catch((error: unknown): Answer => {
        if (error instanceof ProviderError)
          return { status: error.status, body: { code: error.code, message: error.message } };
        return { status: 500, body: { code: 'internal_error', message: 'unexpected sandbox failure' } };
      })
      .then((answer) => {
        if (response.destroyed) return;
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer.body));
      });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    setFaults(next) {
      faults = { ...faults, ...next };
      return { ...faults };
    },
    ledger: () => ledger().map((entry) => ({ ...entry })),
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function pickFaults(body: Record<string, unknown>): Partial<SandboxFaults> {
  const picked: Partial<SandboxFaults> = {};
  if (typeof body.latencyMs === 'number' && body.latencyMs >= 0) picked.latencyMs = body.latencyMs;
  if (typeof body.errorRate === 'number' && body.errorRate >= 0 && body.errorRate <= 1)
    picked.errorRate = body.errorRate;
  if (Number.isInteger(body.failNext) && (body.failNext as number) >= 0)
    picked.failNext = body.failNext as number;
  if (typeof body.outage === 'boolean') picked.outage = body.outage;
  return picked;
}

async function readJson(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ProviderError(413, 'body_too_large', 'the body is too large');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ProviderError(400, 'malformed_json', 'the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ProviderError(400, 'invalid_request', 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}
