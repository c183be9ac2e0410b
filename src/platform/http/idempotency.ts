import { createHash } from 'node:crypto';
import { type Generated, sql } from 'kysely';
import { Type } from 'typebox';
import type { Db } from '../db/index.ts';
import { DomainError } from '../errors.ts';

type IdempotencyTables = {
  idempotency_keys: {
    scope: string;
    key: string;
    request_hash: string;
    status: 'in_progress' | 'completed';
    response_status: number | null;
    response_body: unknown;
    locked_until: Date;
    created_at: Generated<Date>;
  };
};

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface IdempotentResult extends StoredResponse {
  replayed: boolean;
}

interface StoredProblem {
  code: string;
  title: string;
  detail: string;
  extensions?: Record<string, unknown>;
}

/** The Idempotency-Key request header: validated by the route schema, so the document shows it. */
export const IdempotencyKey = Type.String({
  pattern: '^[\\x21-\\x7e]{1,255}$',
  description:
    'A key of your choosing (1–255 visible ASCII characters) naming this attempt: a retry with the same key and body gets the first answer again',
});

/** A canonical hash of what the client asked for: same key with another request is refused. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Runs `work` at most once per (scope, key). The key is claimed with one atomic insert, so two
 * concurrent requests cannot both run (the loser gets 409 while the first is in flight). A finished
 * answer is stored and replayed; a 5xx is not stored, so the client may retry. A claim whose holder
 * died is taken over once its lock expires — the work itself must then find what was already done.
 */
export async function runIdempotent(
  db: Db,
  request: { scope: string; key: string; fingerprint: string; lockMs: number },
  work: () => Promise<StoredResponse>,
): Promise<IdempotentResult> {
  const table = db.withTables<IdempotencyTables>();
  const lockedUntil = sql<Date>`now() + ${`${request.lockMs} milliseconds`}::interval`;
  const claimed = await table
    .insertInto('idempotency_keys')
    .values({
      scope: request.scope,
      key: request.key,
      request_hash: request.fingerprint,
      status: 'in_progress',
      response_status: null,
      response_body: null,
      locked_until: lockedUntil,
    })
    .onConflict((conflict) =>
      conflict
        .columns(['scope', 'key'])
        .doUpdateSet({ locked_until: lockedUntil })
        .where('idempotency_keys.status', '=', 'in_progress')
        .where('idempotency_keys.request_hash', '=', request.fingerprint)
        .where('idempotency_keys.locked_until', '<', sql<Date>`now()`),
    )
    .returning('key')
    .executeTakeFirst();

  if (!claimed) {
    const existing = await table
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'status', 'response_status', 'response_body'])
      .where('scope', '=', request.scope)
      .where('key', '=', request.key)
      .executeTakeFirstOrThrow();
    if (existing.request_hash !== request.fingerprint) {
      throw new DomainError(
        422,
        'IDEMPOTENCY_KEY_REUSED',
        'Idempotency key reused',
        'This Idempotency-Key was used with a different request',
      );
    }
    if (existing.status === 'in_progress') {
      throw new DomainError(
        409,
        'IDEMPOTENCY_IN_PROGRESS',
        'Request in progress',
        'A request with this key is still running',
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    const status = existing.response_status!;
    const stored = existing.response_body as { problem?: StoredProblem };
    if (status >= 400 && stored.problem) {
      const { code, title, detail, extensions } = stored.problem;
      throw new DomainError(status, code, title, detail, {
        extensions,
        headers: { 'idempotent-replayed': 'true' },
      });
    }
    return { status, body: existing.response_body, replayed: true };
  }

  let response: StoredResponse;
  try {
    response = await work();
  } catch (error) {
    if (error instanceof DomainError && error.status < 500) {
      // A definite answer (declined, out of stock, invalid) is the answer to this key.
      const problem: StoredProblem = {
        code: error.code,
        title: error.title,
        detail: error.message,
        extensions: error.extensions,
      };
      await complete({ status: error.status, body: { problem } });
    } else {
      await table
        .deleteFrom('idempotency_keys')
        .where('scope', '=', request.scope)
        .where('key', '=', request.key)
        .execute();
    }
    throw error;
  }
  await complete(response);
  return { ...response, replayed: false };

  async function complete(stored: StoredResponse): Promise<void> {
    await table
      .updateTable('idempotency_keys')
      .set({
        status: 'completed',
        response_status: stored.status,
        response_body: JSON.stringify(stored.body),
      })
      .where('scope', '=', request.scope)
      .where('key', '=', request.key)
      .execute();
  }
}
