import { CsvError, parse } from 'csv-parse/sync';
import { Value } from 'typebox/value';
import { decimalString, fractionDigits } from '../../platform/money.ts';
import { ProductInput, type ProductInputT } from './schemas.ts';
import type { ProductRow } from './store.ts';

/** The columns of an export and an import, in order: one row per variant. */
export const CSV_COLUMNS = [
  'product',
  'name',
  'description',
  'categories',
  'options',
  'sku',
  'price',
  'variantOptions',
  'taxClass',
  'stock',
] as const;
type Column = (typeof CSV_COLUMNS)[number];

export interface ImportError {
  /** The line of the file (the header is line 1). */
  row: number;
  column?: Column;
  message: string;
}

/** A product the file describes: its slug, what it becomes, and the file line of each of its rows. */
export interface ImportedProduct {
  slug: string;
  input: ProductInputT;
  rows: number[];
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
export const csvLine = (values: readonly string[]) => `${values.map(field).join(',')}\r\n`;

const pairs = (options: Record<string, string>) =>
  Object.entries(options)
    .map(([name, value]) => `${name}=${value}`)
    .join(';');

/** A product's rows: the product's own fields on each, so any row can be read alone. */
export function exportLines(row: ProductRow, available: Map<string, number>): string {
  const options = row.options.map((option) => `${option.name}=${option.values.join('|')}`).join(';');
  return row.variants
    .map((variant) =>
      csvLine([
        row.slug,
        row.name,
        row.description,
        row.categories.join('|'),
        options,
        variant.sku,
        decimalString({ amount: variant.amount, currency: variant.currency }),
        pairs(variant.options),
        variant.taxClass,
        String(available.get(variant.id) ?? 0),
      ]),
    )
    .join('');
}

/** "19.99" in minor units of the currency (as many decimals as it has, at most); undefined otherwise. */
function parseAmount(text: string, currency: string): number | undefined {
  const digits = fractionDigits(currency);
  const match = /^(\d{1,13})(?:\.(\d+))?$/.exec(text.trim());
  if (!match || (match[2] ?? '').length > digits) return undefined;
  return Number(match[1] + (match[2] ?? '').padEnd(digits, '0'));
}

/** "Size=S|M;Colour=Red" → options; undefined when malformed. */
function parseOptions(text: string): Array<{ name: string; values: string[] }> | undefined {
  if (!text.trim()) return [];
  const options = [];
  for (const part of text.split(';')) {
    const [name, values, ...rest] = part.split('=');
    if (!name?.trim() || values === undefined || rest.length > 0) return undefined;
    options.push({ name: name.trim(), values: values.split('|').map((value) => value.trim()) });
  }
  return options;
}

function parsePairs(text: string): Record<string, string> | undefined {
  if (!text.trim()) return {};
  const pairs: Record<string, string> = {};
  for (const part of text.split(';')) {
    const [name, value, ...rest] = part.split('=');
    if (!name?.trim() || value === undefined || rest.length > 0) return undefined;
    pairs[name.trim()] = value.trim();
  }
  return pairs;
}

/**
 * Reads an import file: every row is checked (each mistake reported with its line and column),
 * and the rows of one product (the same `product` slug) become one product input.
 */
export function parseImport(
  text: string,
  currency: string,
): { products: ImportedProduct[]; errors: ImportError[] } {
  const errors: ImportError[] = [];
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true });
  } catch (error) {
    if (error instanceof CsvError)
      return {
        products: [],
        errors: [
          {
            row: (error as CsvError & { lines?: number }).lines ?? 1,
            message: `The file is not valid CSV: ${error.message}`,
          },
        ],
      };
    throw error;
  }
  const [header, ...rows] = records;
  const missing = CSV_COLUMNS.filter((column) => !header?.map((name) => name.trim()).includes(column));
  if (!header || missing.length > 0)
    return {
      products: [],
      errors: [{ row: 1, message: `The first line must name the columns; missing: ${missing.join(', ')}` }],
    };
  const index = new Map(header.map((name, position) => [name.trim(), position]));
  const groups = new Map<string, ImportedProduct>();
  const skus = new Map<string, number>();
  for (const [offset, record] of rows.entries()) {
    const line = offset + 2;
    const get = (column: Column) => (record[index.get(column)!] ?? '').trim();
    const fail = (column: Column, message: string) => errors.push({ row: line, column, message });
    const slug = get('product');
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(slug)) {
      fail(
        'product',
        'must be the product’s slug (lower-case letters, digits and hyphens), the same on each of its rows',
      );
      continue;
    }
    let group = groups.get(slug);
    if (!group) {
      const options = parseOptions(get('options'));
      if (!options) fail('options', 'must look like Size=S|M|L;Colour=Red|Blue');
      if (!get('name')) fail('name', 'is needed on the first row of a product');
      group = {
        slug,
        rows: [],
        input: {
          name: get('name'),
          description: get('description'),
          categorySlugs: get('categories')
            ? get('categories')
                .split('|')
                .map((each) => each.trim())
            : [],
          options: options ?? [],
          variants: [],
        },
      };
      groups.set(slug, group);
    }
    group.rows.push(line);
    const sku = get('sku');
    const amount = parseAmount(get('price'), currency);
    const variantOptions = parsePairs(get('variantOptions'));
    const stock = get('stock');
    if (!sku) fail('sku', 'is needed');
    else if (skus.has(sku.toLowerCase())) fail('sku', `is also on line ${skus.get(sku.toLowerCase())}`);
    else skus.set(sku.toLowerCase(), line);
    if (amount === undefined) fail('price', `must be an amount like 19.99 (in ${currency})`);
    if (!variantOptions) fail('variantOptions', 'must look like Size=S;Colour=Red');
    if (stock && !/^\d{1,9}$/.test(stock)) fail('stock', 'must be a whole number of items');
    group.input.variants.push({
      sku,
      price: { amount: amount ?? 0, currency },
      options: variantOptions ?? {},
      ...(get('taxClass') ? { taxClass: get('taxClass') } : {}),
      ...(stock ? { stock: Number(stock) } : {}),
    });
  }
  // What the API would refuse of each product (a bad SKU, a name too long…), on its line and column.
  for (const group of groups.values()) {
    for (const issue of Value.Errors(ProductInput, group.input).slice(0, 5)) {
      const [, first, position, field] = issue.instancePath.split('/');
      const variant = first === 'variants' && position !== undefined ? Number(position) : undefined;
      const column = variant !== undefined ? VARIANT_COLUMNS[field] : PRODUCT_COLUMNS[first];
      errors.push({
        row: group.rows[variant ?? 0] ?? group.rows[0],
        ...(column ? { column } : {}),
        message:
          issue.keyword === 'pattern' ? 'has characters it may not have' : (issue.message ?? 'is not valid'),
      });
    }
  }
  return { products: [...groups.values()], errors: errors.sort((a, b) => a.row - b.row) };
}

const PRODUCT_COLUMNS: Record<string, Column> = {
  name: 'name',
  description: 'description',
  categorySlugs: 'categories',
  options: 'options',
  variants: 'sku',
};
const VARIANT_COLUMNS: Record<string, Column> = {
  sku: 'sku',
  price: 'price',
  options: 'variantOptions',
  taxClass: 'taxClass',
  stock: 'stock',
};
