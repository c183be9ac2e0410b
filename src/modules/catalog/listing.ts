import { createHash } from 'node:crypto';
import { badRequest } from '../../platform/errors.ts';
import type { ProductFilter, ProductRow, SortKey, SortTerm } from './store.ts';

export const SORT_KEYS: readonly SortKey[] = ['price', 'name', 'createdAt', 'rating', 'relevance'];

export interface ListQuery extends ProductFilter {
  sort?: string;
  /** Comma-separated facet kinds to count: category, price, option. */
  facets?: string;
  /** The language of names and descriptions (one of the shop's). */
  locale?: string;
  page: number;
  size: number;
  cursor?: string;
}

/**
 * Parses `sort=price,desc`, `sort=-price` and lists of both (`-price,name`, `price,desc,name`).
 * Without a sort a search is ordered by relevance and a plain listing by newest first.
 */
export function parseSort(raw: string | undefined, searching: boolean): SortTerm[] {
  if (raw === undefined || raw.trim() === '') {
    return searching ? [{ key: 'relevance', desc: true }] : [{ key: 'createdAt', desc: true }];
  }
  const terms: SortTerm[] = [];
  for (const token of raw.split(',').map((part) => part.trim())) {
    if ((token === 'asc' || token === 'desc') && terms.length > 0) {
      terms[terms.length - 1].desc = token === 'desc';
      continue;
    }
    const desc = token.startsWith('-');
    const key = desc ? token.slice(1) : token;
    if (!(SORT_KEYS as readonly string[]).includes(key)) {
      throw badRequest('INVALID_SORT', `Cannot sort by "${token}"; use ${SORT_KEYS.join(', ')}`, {
        errors: [{ path: '/query/sort', message: `unknown sort key "${token}"` }],
      });
    }
    if (key === 'relevance' && !searching) throw badRequest('INVALID_SORT', 'Sorting by relevance needs q');
    if (terms.some((term) => term.key === key))
      throw badRequest('INVALID_SORT', `"${key}" is sorted on twice`);
    terms.push({ key: key as SortKey, desc });
  }
  return terms;
}

/** What a cursor is valid for: the same filter, order and page size. */
export function listSignature(filter: ProductFilter, sort: SortTerm[], size: number, variant = ''): string {
  const canonical = JSON.stringify([
    filter.q ?? null,
    filter.category ?? null,
    filter.collection ?? null,
    filter.option ? [filter.option.name, filter.option.value] : null,
    filter.minPrice ?? null,
    filter.maxPrice ?? null,
    filter.archived ?? false,
    sort.map((term) => `${term.desc ? '-' : ''}${term.key}`),
    size,
    variant,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

interface CursorContent {
  /** signature of the list it continues */
  s: string;
  /** page number it leads to */
  p: number;
  /** sort values of the last row, then its id */
  v: unknown[];
}

/** The position after `row` in this order: opaque to clients (base64url JSON). */
export function encodeCursor(signature: string, page: number, sort: SortTerm[], row: ProductRow): string {
  const values = sort.map((term) => sortValue(term.key, row));
  const content: CursorContent = { s: signature, p: page, v: [...values, row.id] };
  return Buffer.from(JSON.stringify(content)).toString('base64url');
}

function sortValue(key: SortKey, row: ProductRow): unknown {
  switch (key) {
    case 'price':
      return row.priceAmount;
    case 'name':
      return row.name;
    case 'createdAt':
      return row.createdAt.toISOString();
    case 'rating':
      return row.ratingAverage;
    case 'relevance':
      return row.rank ?? 0;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Exactly what encodeCursor writes for a time (`toISOString`): Date.parse alone accepts strings
 * PostgreSQL refuses ("2024-02-30", "Tue 1 Jan"), which would reach the database as a 500.
 */
function isInstant(value: unknown): boolean {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value)) return false;
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}

/** Decodes and checks a cursor against the list it is used on; anything else is a 400, never a 5xx. */
export function decodeCursor(
  cursor: string,
  signature: string,
  sort: SortTerm[],
): { page: number; after: unknown[] } {
  const invalid = () => badRequest('INVALID_CURSOR', 'The cursor is malformed or belongs to another query');
  let content: CursorContent;
  try {
    content = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw badRequest('INVALID_CURSOR', 'The cursor is malformed', { cause: error });
  }
  if (
    typeof content !== 'object' ||
    content === null ||
    content.s !== signature ||
    !Number.isSafeInteger(content.p) ||
    content.p < 2 ||
    !Array.isArray(content.v) ||
    content.v.length !== sort.length + 1
  ) {
    throw invalid();
  }
  const id = content.v[sort.length];
  if (typeof id !== 'string' || !UUID.test(id)) throw invalid();
  sort.forEach((term, index) => {
    const value = content.v[index];
    const ok =
      term.key === 'name'
        ? typeof value === 'string' && !value.includes('\u0000')
        : term.key === 'createdAt'
          ? isInstant(value)
          : term.key === 'price'
            ? Number.isSafeInteger(value)
            : typeof value === 'number' && Number.isFinite(value);
    if (!ok) throw invalid();
  });
  return { page: content.p, after: content.v };
}
