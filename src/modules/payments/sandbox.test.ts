import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from './sandbox.ts';

describe('sandbox payment provider', () => {
  let sandbox: Sandbox;
  beforeEach(async () => {
    sandbox = await startSandbox({ slowMs: 300 });
  });
  afterEach(() => sandbox.close());

  const post = async (path: string, body: unknown, key?: string) => {
    const response = await fetch(sandbox.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key && { 'idempotency-key': key }) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const authorize = (token: string, key: string, amount = 1000) =>
    post('/v1/authorizations', { amount, currency: 'EUR', token, reference: `order-${key}` }, key);

  it('approves tok_visa, declines tok_declined, answers 500 for tok_error', async () => {
    const approved = await authorize('tok_visa', 'k1');
    expect(approved.status).toBe(201);
    expect(approved.body).toMatchObject({ status: 'authorized', amount: 1000, currency: 'EUR' });
    const declined = await authorize('tok_declined', 'k2');
    expect(declined.status).toBe(402);
    expect(declined.body).toMatchObject({ status: 'declined', code: 'card_declined' });
    expect((await authorize('tok_error', 'k3')).status).toBe(500);
    expect(sandbox.ledger().map((entry) => entry.kind)).toEqual(['authorize', 'decline']);
  });

  it('answers the same key with the stored answer and no second effect', async () => {
    const first = await authorize('tok_visa', 'same');
    const again = await Promise.all([authorize('tok_visa', 'same'), authorize('tok_visa', 'same')]);
    expect(again.map((answer) => answer.body)).toEqual([first.body, first.body]);
    expect(sandbox.ledger()).toHaveLength(1);
    const reused = await post(
      '/v1/authorizations',
      { amount: 5, currency: 'EUR', token: 'tok_visa', reference: 'x' },
      'same',
    );
    expect(reused.status).toBe(422);
    expect(
      (await post('/v1/authorizations', { amount: 5, currency: 'EUR', token: 'tok_visa', reference: 'x' }))
        .status,
    ).toBe(400);
  });

  it('captures once and never refunds beyond what was captured', async () => {
    const { body: auth } = await authorize('tok_visa', 'a');
    const capture = await post(`/v1/authorizations/${auth.id}/capture`, {}, 'a:capture');
    expect(capture.body).toMatchObject({ status: 'captured', capturedAmount: 1000 });
    expect((await post(`/v1/authorizations/${auth.id}/capture`, {}, 'a:capture')).body).toEqual(capture.body);
    expect((await post(`/v1/authorizations/${auth.id}/capture`, {}, 'other')).body.code).toBe(
      'already_captured',
    );
    expect((await post(`/v1/authorizations/${auth.id}/refunds`, { amount: 600 }, 'r1')).status).toBe(201);
    const tooMuch = await post(`/v1/authorizations/${auth.id}/refunds`, { amount: 401 }, 'r2');
    expect(tooMuch).toMatchObject({ status: 409, body: { code: 'refund_exceeds_captured' } });
    expect((await post(`/v1/authorizations/${auth.id}/refunds`, { amount: 400 }, 'r3')).body).toMatchObject({
      refundedAmount: 1000,
    });
    expect(sandbox.ledger().map((entry) => [entry.kind, entry.amount])).toEqual([
      ['authorize', 1000],
      ['capture', 1000],
      ['refund', 600],
      ['refund', 400],
    ]);
  });

  it('captures in parts, one shipment at a time, and a void after them releases only the rest', async () => {
    const { body: auth } = await authorize('tok_visa', 'parts');
    const capture = (body: unknown, key: string) => post(`/v1/authorizations/${auth.id}/capture`, body, key);
    expect((await capture({ amount: 300, final: false }, 'p1')).body).toMatchObject({
      status: 'authorized',
      capturedAmount: 300,
    });
    expect((await capture({ amount: 800, final: false }, 'p2')).body.code).toBe('invalid_amount');
    expect((await post(`/v1/authorizations/${auth.id}/refunds`, { amount: 301 }, 'r')).status).toBe(409);
    expect((await capture({ amount: 200, final: false }, 'p3')).body.capturedAmount).toBe(500);
    const voided = await post(`/v1/authorizations/${auth.id}/void`, {}, 'v');
    expect(voided.body).toMatchObject({ status: 'captured', capturedAmount: 500 });
    const { body: other } = await authorize('tok_visa', 'final');
    const last = await post(`/v1/authorizations/${other.id}/capture`, { amount: 400, final: true }, 'f');
    expect(last.body).toMatchObject({ status: 'captured', capturedAmount: 400 });
    expect(sandbox.ledger().map((entry) => [entry.kind, entry.amount])).toEqual([
      ['authorize', 1000],
      ['capture', 300],
      ['capture', 200],
      ['void', 500],
      ['authorize', 1000],
      ['capture', 400],
    ]);
  });

  it('forgets the oldest beyond `retain`: authorizations, idempotency keys and ledger entries stay bounded', async () => {
    const small = await startSandbox({ retain: 3 });
    try {
      const authorizeOn = async (key: string) => {
        const response = await fetch(`${small.url}/v1/authorizations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ amount: 100, currency: 'EUR', token: 'tok_visa', reference: `ref-${key}` }),
        });
        return (await response.json()) as { id: string };
      };
      const first = await authorizeOn('k0');
      const later = [];
      for (let index = 1; index <= 7; index++) later.push(await authorizeOn(`k${index}`));

      const ledger = small.ledger();
      expect(ledger).toHaveLength(3);
      expect(ledger.map((entry) => entry.key)).toEqual(['k5', 'k6', 'k7']);
      expect((await fetch(`${small.url}/v1/authorizations/${first.id}`)).status).toBe(404);
      expect((await fetch(`${small.url}/v1/authorizations/${later[6].id}`)).status).toBe(200);
      // A recent key still replays its answer; a forgotten one is a new request.
      expect((await authorizeOn('k7')).id).toBe(later[6].id);
      expect((await authorizeOn('k0')).id).not.toBe(first.id);
      // Reversal finds what is kept by reference and nothing that was forgotten.
      const reversal = await fetch(`${small.url}/v1/reversals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'rev' },
        body: JSON.stringify({ reference: 'ref-k7' }),
      });
      expect(await reversal.json()).toEqual({ reference: 'ref-k7', voided: [later[6].id] });
    } finally {
      await small.close();
    }
  });

  it('reverses by reference, including an authorization whose answer is still on its way', async () => {
    const slow = authorize('tok_slow', 'slow');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reversal = await post('/v1/reversals', { reference: 'order-slow' }, 'slow:reverse');
    expect(reversal.body.voided).toHaveLength(1);
    expect((await slow).status).toBe(201);
    expect(sandbox.ledger().map((entry) => entry.kind)).toEqual(['authorize', 'reversal']);
  });

  it('injects lost answers, latency and outages, switchable over HTTP', async () => {
    sandbox.setFaults({ failNext: 1 });
    expect((await authorize('tok_visa', 'f')).status).toBe(503);
    // The work was done; only the answer was lost, so the same key replays it.
    expect((await authorize('tok_visa', 'f')).status).toBe(201);
    expect(sandbox.ledger()).toHaveLength(1);
    expect((await post('/v1/faults', { outage: true }, undefined)).body.outage).toBe(true);
    await expect(authorize('tok_visa', 'g')).rejects.toThrow();
    const faults = await fetch(`${sandbox.url}/v1/faults`).then((response) => response.json());
    expect(faults).toMatchObject({ outage: true });
    sandbox.setFaults({ outage: false });
    expect((await authorize('tok_visa', 'g')).status).toBe(201);
    const ledger = (await fetch(`${sandbox.url}/v1/ledger`).then((response) => response.json())) as {
      entries: { key: string }[];
    };
    expect(ledger.entries.map((entry) => entry.key)).toEqual(['f', 'g']);
  });
});
