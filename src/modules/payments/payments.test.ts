import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dbKinds, type TestDatabase } from '../../../test/support/db.ts';
import { createTestPayments } from '../../../test/support/payments.ts';
import { runWithContext } from '../../platform/context.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { LedgerEntry, PaymentsModule, Sandbox } from './index.ts';

/** What the provider holds for an order: captured − refunded, from its own ledger. */
const heldByProvider = (ledger: LedgerEntry[], orderId: string) =>
  ledger
    .filter((entry) => entry.reference === orderId)
    .reduce(
      (sum, entry) =>
        sum + (entry.kind === 'capture' ? entry.amount : entry.kind === 'refund' ? -entry.amount : 0),
      0,
    );

describe.each(dbKinds)('payments service on %s', (kind) => {
  let database: TestDatabase;
  let payments: PaymentsModule & { sandbox: Sandbox };
  const signal = () => AbortSignal.timeout(5000);
  const ledgerOf = (orderId: string) =>
    payments.sandbox!.ledger().filter((entry) => entry.reference === orderId);
  const authorized = async (amount = 4200) => {
    const orderId = uuidv7();
    await payments.service.authorize({ orderId, amount, currency: 'EUR', token: 'tok_visa' }, signal());
    return orderId;
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    payments = await createTestPayments(database, {
      retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
      breaker: { volumeThreshold: 1000 },
    });
  });
  afterAll(async () => {
    await payments.close?.();
    await database.dispose();
  });

  it('authorizes once per order, however often the saga asks', async () => {
    const orderId = uuidv7();
    const input = { orderId, amount: 4200, currency: 'EUR', token: 'tok_visa' };
    const first = await payments.service.authorize(input, signal());
    expect(first).toMatchObject({
      orderId,
      status: 'authorized',
      amount: 4200,
      currency: 'EUR',
      capturedAmount: 0,
    });
    expect(first.providerAuthorizationId).toMatch(/^auth_/);
    expect(await payments.service.authorize(input, signal())).toEqual(first);
    expect(await payments.service.get(orderId)).toEqual(first);
    expect(ledgerOf(orderId)).toEqual([
      expect.objectContaining({ kind: 'authorize', key: `${orderId}:authorize` }),
    ]);
    await expect(payments.service.authorize({ ...input, amount: 1 }, signal())).rejects.toMatchObject({
      status: 409,
      code: 'PAYMENT_MISMATCH',
    });
  });

  it('turns a decline into 402 PAYMENT_DECLINED and keeps it declined', async () => {
    const orderId = uuidv7();
    const input = { orderId, amount: 999, currency: 'USD', token: 'tok_declined' };
    await expect(payments.service.authorize(input, signal())).rejects.toMatchObject({
      status: 402,
      code: 'PAYMENT_DECLINED',
    });
    await expect(payments.service.authorize(input, signal())).rejects.toMatchObject({
      code: 'PAYMENT_DECLINED',
    });
    expect(await payments.service.get(orderId)).toMatchObject({ status: 'declined' });
    expect(ledgerOf(orderId).map((entry) => entry.kind)).toEqual(['decline']);
    expect(await payments.service.voidAuthorization(orderId, signal())).toMatchObject({ status: 'declined' });
  });

  it('leaves a payment pending when the provider errors (tok_error), and voiding settles it as failed', async () => {
    const orderId = uuidv7();
    await expect(
      payments.service.authorize({ orderId, amount: 500, currency: 'EUR', token: 'tok_error' }, signal()),
    ).rejects.toMatchObject({ status: 503, code: 'PAYMENT_PROVIDER_UNAVAILABLE' });
    expect(await payments.service.get(orderId)).toMatchObject({ status: 'pending' });
    expect(await payments.service.voidAuthorization(orderId, signal())).toMatchObject({ status: 'failed' });
    await expect(
      payments.service.authorize({ orderId, amount: 500, currency: 'EUR', token: 'tok_error' }, signal()),
    ).rejects.toMatchObject({ status: 409, code: 'PAYMENT_STATE_CONFLICT' });
    expect(ledgerOf(orderId)).toEqual([]);
  });

  it('captures at most once, even when asked twice at the same time', async () => {
    const orderId = await authorized();
    const [first, second] = await Promise.all([
      payments.service.capture(orderId, signal()),
      payments.service.capture(orderId, signal()),
    ]);
    expect(first).toMatchObject({ status: 'captured', capturedAmount: 4200 });
    expect(second).toMatchObject({ status: 'captured', capturedAmount: 4200 });
    expect(await payments.service.capture(orderId, signal())).toMatchObject({ status: 'captured' });
    expect(ledgerOf(orderId).filter((entry) => entry.kind === 'capture')).toHaveLength(1);
    await expect(payments.service.voidAuthorization(orderId, signal())).rejects.toMatchObject({
      status: 409,
      code: 'PAYMENT_STATE_CONFLICT',
    });
  });

  it('refunds never exceed the captured amount, and a repeated refund refunds once', async () => {
    const orderId = await authorized(1000);
    await expect(payments.service.refund(orderId, 100, 'too-early', signal())).rejects.toMatchObject({
      code: 'PAYMENT_STATE_CONFLICT',
    });
    await payments.service.capture(orderId, signal());
    expect(await payments.service.refund(orderId, 300, 'return-1', signal())).toMatchObject({
      status: 'partially_refunded',
      refundedAmount: 300,
    });
    expect(await payments.service.refund(orderId, 300, 'return-1', signal())).toMatchObject({
      refundedAmount: 300,
    });
    await expect(payments.service.refund(orderId, 701, 'return-2', signal())).rejects.toMatchObject({
      status: 409,
      code: 'REFUND_EXCEEDS_CAPTURED',
    });
    const full = await payments.service.refund(orderId, 700, 'cancel', signal());
    expect(full).toMatchObject({ status: 'refunded', capturedAmount: 1000, refundedAmount: 1000 });
    const ledger = payments.sandbox!.ledger();
    expect(ledger.filter((entry) => entry.reference === orderId && entry.kind === 'refund')).toHaveLength(2);
    expect(heldByProvider(ledger, orderId)).toBe(full.capturedAmount - full.refundedAmount);
  });

  it('lets the provider settle racing refunds: their sum never exceeds what was captured', async () => {
    const orderId = await authorized(1000);
    await payments.service.capture(orderId, signal());
    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map((key) => payments.service.refund(orderId, 400, key, signal())),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
    const payment = (await payments.service.get(orderId))!;
    expect(payment).toMatchObject({ refundedAmount: 800, status: 'partially_refunded' });
    expect(heldByProvider(payments.sandbox!.ledger(), orderId)).toBe(
      payment.capturedAmount - payment.refundedAmount,
    );
  });

  it('voids an uncaptured authorization; it can no longer be captured', async () => {
    const orderId = await authorized();
    expect(await payments.service.voidAuthorization(orderId, signal())).toMatchObject({ status: 'voided' });
    expect(await payments.service.voidAuthorization(orderId, signal())).toMatchObject({ status: 'voided' });
    await expect(payments.service.capture(orderId, signal())).rejects.toMatchObject({
      code: 'PAYMENT_STATE_CONFLICT',
    });
    expect(ledgerOf(orderId).map((entry) => entry.kind)).toEqual(['authorize', 'void']);
    expect(await payments.service.voidAuthorization(uuidv7(), signal())).toBeUndefined();
  });

  it('keeps one authorization when its answers are lost and retried', async () => {
    const orderId = uuidv7();
    payments.sandbox!.setFaults({ failNext: 2 });
    const payment = await payments.service.authorize(
      { orderId, amount: 700, currency: 'EUR', token: 'tok_visa' },
      signal(),
    );
    expect(payment.status).toBe('authorized');
    expect(ledgerOf(orderId)).toEqual([
      expect.objectContaining({ kind: 'authorize', key: `${orderId}:authorize` }),
    ]);
  });

  it('stops at a short deadline on tok_slow; voiding reverses the late authorization', async () => {
    const orderId = uuidv7();
    const error = await payments.service
      .authorize({ orderId, amount: 800, currency: 'EUR', token: 'tok_slow' }, AbortSignal.timeout(200))
      .catch((caught) => caught);
    expect(error.name).toBe('TimeoutError');
    expect(await payments.service.get(orderId)).toMatchObject({ status: 'pending' });
    expect(await payments.service.voidAuthorization(orderId, signal())).toMatchObject({ status: 'voided' });
    expect(ledgerOf(orderId).map((entry) => entry.kind)).toEqual(['authorize', 'reversal']);
  });

  it('without a signal of its own, follows the work context deadline (or none, bounded by retries)', async () => {
    const unbounded = await payments.service.authorize({
      orderId: uuidv7(),
      amount: 10,
      currency: 'EUR',
      token: 'tok_visa',
    });
    expect(unbounded.status).toBe('authorized');
    const orderId = uuidv7();
    const error = await runWithContext({ signal: AbortSignal.timeout(200) }, () =>
      payments.service.authorize({ orderId, amount: 10, currency: 'EUR', token: 'tok_slow' }),
    ).catch((caught) => caught);
    expect(error.name).toBe('TimeoutError');
  });

  it('rejects nonsense amounts and currencies before calling anyone', async () => {
    const orderId = uuidv7();
    await expect(
      payments.service.authorize({ orderId, amount: 0, currency: 'EUR', token: 'tok_visa' }, signal()),
    ).rejects.toMatchObject({ status: 400, code: 'INVALID_AMOUNT' });
    await expect(
      payments.service.authorize({ orderId, amount: 10, currency: 'euro', token: 'tok_visa' }, signal()),
    ).rejects.toMatchObject({ status: 400, code: 'INVALID_CURRENCY' });
    expect(await payments.service.get(orderId)).toBeUndefined();
  });
});
