import { createHash } from 'node:crypto';
import type { Facets, ProductRow } from './store.ts';

/**
 * A rendered response with holes where each variant's `available` goes. Stock changes with every
 * checkout while the rest of a product rarely does, so the rest is rendered (and cached) once and
 * the live availability is filled in per request: output = segments[0] a0 segments[1] a1 ….
 */
export interface Template {
  /** Hash of everything but availability; the stable half of the ETag and what If-Match compares. */
  hash: string;
  variantIds: string[];
  segments: string[];
}

function productJsonHead(row: ProductRow): string {
  const head = JSON.stringify({
    id: row.id,
    name: row.name,
    slug: row.slug,
    description: row.description,
    categories: row.categories,
    options: row.options,
    images: row.images,
    rating: { average: row.ratingAverage, count: row.ratingCount },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    ...(row.archivedAt ? { archivedAt: row.archivedAt.toISOString() } : {}),
  });
  return `${head.slice(0, -1)},"variants":[`;
}

/** Appends one product to a template under construction; `segments` ends with the open segment. */
function appendProduct(segments: string[], variantIds: string[], row: ProductRow): void {
  let open = segments.pop() ?? '';
  open += productJsonHead(row);
  row.variants.forEach((variant, index) => {
    const json = JSON.stringify({
      id: variant.id,
      sku: variant.sku,
      price: { amount: variant.amount, currency: variant.currency },
      prices: variant.prices,
      attributes: variant.attributes,
      options: variant.options,
      taxClass: variant.taxClass,
    });
    open += `${index > 0 ? ',' : ''}${json.slice(0, -1)},"available":`;
    segments.push(open);
    variantIds.push(variant.id);
    open = '}';
  });
  segments.push(`${open}]}`);
}

function finish(segments: string[], variantIds: string[]): Template {
  const hash = createHash('sha256').update(segments.join('\u0001')).digest('base64url').slice(0, 22);
  return { hash, variantIds, segments };
}

export function productTemplate(row: ProductRow): Template {
  const segments: string[] = [];
  const variantIds: string[] = [];
  appendProduct(segments, variantIds, row);
  return finish(segments, variantIds);
}

export function listTemplate(
  rows: ProductRow[],
  page: { page: number; size: number; total: number; nextCursor: string | null; facets?: Facets },
): Template {
  const segments = ['{"items":['];
  const variantIds: string[] = [];
  rows.forEach((row, index) => {
    if (index > 0) segments.push(`${segments.pop()},`);
    appendProduct(segments, variantIds, row);
  });
  const tail = JSON.stringify(page).slice(1);
  segments.push(`${segments.pop()}],${tail}`);
  return finish(segments, variantIds);
}

// Raw newlines and control characters never occur in JSON.stringify output, so they separate safely.
export function serializeTemplate(template: Template): string {
  return `${template.hash}\n${template.variantIds.join(',')}\n${template.segments.join('\u0001')}`;
}

export function parseTemplate(text: string): Template {
  const first = text.indexOf('\n');
  const second = text.indexOf('\n', first + 1);
  const ids = text.slice(first + 1, second);
  return {
    hash: text.slice(0, first),
    variantIds: ids === '' ? [] : ids.split(','),
    segments: text.slice(second + 1).split('\u0001'),
  };
}

/** 32-bit FNV-1a: cheap enough to fingerprint the availability of a page on every request. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

/** The response body and its strong ETag: the template's hash plus a fingerprint of the availability. */
export function fill(template: Template, available: Map<string, number>): { body: string; etag: string } {
  const counts = template.variantIds.map((id) => available.get(id) ?? 0);
  let body = template.segments[0];
  for (let index = 0; index < counts.length; index++) body += counts[index] + template.segments[index + 1];
  return { body, etag: `"${template.hash}.${fnv1a(counts.join(','))}"` };
}

/** The template-hash half of each entity tag in an If-Match / If-None-Match header. */
export function entityTags(header: string): string[] {
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .filter(Boolean);
}
