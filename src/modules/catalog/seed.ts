import { sql } from 'kysely';
import { type Db, transact } from '../../platform/db/index.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { InventoryService } from '../inventory/index.ts';
import { slugify } from './service.ts';
import { catalogStore as store } from './store.ts';

/** Small, fast, seedable PRNG (mulberry32): the same index always yields the same product. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Kind = 'apparel' | 'shoes' | 'tech' | 'home' | 'books' | 'general';

interface Leaf {
  slug: string;
  name: string;
  kind: Kind;
  nouns: string[];
  /** price range of the cheapest variant, in minor units */
  price: [number, number];
}

const TREE: Array<{
  slug: string;
  name: string;
  children: Array<{ slug: string; name: string; leaves: Leaf[] }>;
}> = [
  {
    slug: 'clothing',
    name: 'Clothing',
    children: [
      {
        slug: 'mens-clothing',
        name: 'Men',
        leaves: [
          {
            slug: 'mens-shirts',
            name: 'Shirts',
            kind: 'apparel',
            nouns: ['Shirt', 'Oxford Shirt', 'Polo', 'Henley'],
            price: [1990, 7990],
          },
          {
            slug: 'mens-jackets',
            name: 'Jackets',
            kind: 'apparel',
            nouns: ['Jacket', 'Parka', 'Bomber', 'Overcoat'],
            price: [4990, 24990],
          },
          {
            slug: 'mens-trousers',
            name: 'Trousers',
            kind: 'apparel',
            nouns: ['Chinos', 'Jeans', 'Trousers', 'Shorts'],
            price: [2990, 11990],
          },
        ],
      },
      {
        slug: 'womens-clothing',
        name: 'Women',
        leaves: [
          {
            slug: 'womens-dresses',
            name: 'Dresses',
            kind: 'apparel',
            nouns: ['Dress', 'Maxi Dress', 'Wrap Dress'],
            price: [2990, 14990],
          },
          {
            slug: 'womens-tops',
            name: 'Tops',
            kind: 'apparel',
            nouns: ['Blouse', 'T-Shirt', 'Cardigan', 'Sweater'],
            price: [1490, 8990],
          },
          {
            slug: 'womens-skirts',
            name: 'Skirts',
            kind: 'apparel',
            nouns: ['Skirt', 'Pleated Skirt', 'Midi Skirt'],
            price: [1990, 8990],
          },
        ],
      },
    ],
  },
  {
    slug: 'shoes',
    name: 'Shoes',
    children: [
      {
        slug: 'sport-shoes',
        name: 'Sport',
        leaves: [
          {
            slug: 'running-shoes',
            name: 'Running',
            kind: 'shoes',
            nouns: ['Running Shoe', 'Trail Runner', 'Racer'],
            price: [5990, 17990],
          },
          {
            slug: 'hiking-boots',
            name: 'Hiking',
            kind: 'shoes',
            nouns: ['Hiking Boot', 'Trekking Shoe'],
            price: [7990, 22990],
          },
        ],
      },
      {
        slug: 'casual-shoes',
        name: 'Casual',
        leaves: [
          {
            slug: 'sneakers',
            name: 'Sneakers',
            kind: 'shoes',
            nouns: ['Sneaker', 'Canvas Shoe', 'Slip-On'],
            price: [3990, 12990],
          },
          {
            slug: 'sandals',
            name: 'Sandals',
            kind: 'shoes',
            nouns: ['Sandal', 'Flip-Flop', 'Espadrille'],
            price: [1490, 6990],
          },
        ],
      },
    ],
  },
  {
    slug: 'electronics',
    name: 'Electronics',
    children: [
      {
        slug: 'audio',
        name: 'Audio',
        leaves: [
          {
            slug: 'headphones',
            name: 'Headphones',
            kind: 'tech',
            nouns: ['Headphones', 'Earbuds', 'Headset'],
            price: [1990, 39990],
          },
          {
            slug: 'speakers',
            name: 'Speakers',
            kind: 'tech',
            nouns: ['Speaker', 'Soundbar', 'Bookshelf Speaker'],
            price: [2990, 59990],
          },
        ],
      },
      {
        slug: 'computing',
        name: 'Computing',
        leaves: [
          {
            slug: 'laptops',
            name: 'Laptops',
            kind: 'tech',
            nouns: ['Laptop', 'Ultrabook', 'Notebook'],
            price: [49990, 249990],
          },
          {
            slug: 'accessories',
            name: 'Accessories',
            kind: 'tech',
            nouns: ['Keyboard', 'Mouse', 'USB-C Hub', 'Monitor Stand'],
            price: [990, 14990],
          },
        ],
      },
    ],
  },
  {
    slug: 'home',
    name: 'Home',
    children: [
      {
        slug: 'kitchen',
        name: 'Kitchen',
        leaves: [
          {
            slug: 'cookware',
            name: 'Cookware',
            kind: 'home',
            nouns: ['Frying Pan', 'Saucepan', 'Dutch Oven', 'Wok'],
            price: [1990, 19990],
          },
          {
            slug: 'tableware',
            name: 'Tableware',
            kind: 'home',
            nouns: ['Plate Set', 'Mug', 'Bowl', 'Carafe'],
            price: [790, 8990],
          },
        ],
      },
      {
        slug: 'living',
        name: 'Living',
        leaves: [
          {
            slug: 'lighting',
            name: 'Lighting',
            kind: 'home',
            nouns: ['Table Lamp', 'Floor Lamp', 'Pendant Light'],
            price: [2490, 29990],
          },
          {
            slug: 'textiles',
            name: 'Textiles',
            kind: 'home',
            nouns: ['Throw', 'Cushion', 'Rug', 'Duvet Cover'],
            price: [1490, 24990],
          },
        ],
      },
    ],
  },
  {
    slug: 'leisure',
    name: 'Leisure',
    children: [
      {
        slug: 'books',
        name: 'Books',
        leaves: [
          {
            slug: 'fiction',
            name: 'Fiction',
            kind: 'books',
            nouns: ['Novel', 'Short Stories', 'Thriller', 'Saga'],
            price: [899, 2999],
          },
          {
            slug: 'non-fiction',
            name: 'Non-fiction',
            kind: 'books',
            nouns: ['Cookbook', 'Field Guide', 'Biography', 'Atlas'],
            price: [1299, 4999],
          },
        ],
      },
      {
        slug: 'outdoor',
        name: 'Outdoor',
        leaves: [
          {
            slug: 'camping',
            name: 'Camping',
            kind: 'general',
            nouns: ['Tent', 'Sleeping Bag', 'Camping Stove', 'Lantern'],
            price: [1990, 49990],
          },
          {
            slug: 'cycling',
            name: 'Cycling',
            kind: 'general',
            nouns: ['Bike Helmet', 'Bike Light', 'Pannier', 'Jersey'],
            price: [1490, 19990],
          },
        ],
      },
    ],
  },
];

const ADJECTIVES = [
  'Classic',
  'Essential',
  'Urban',
  'Alpine',
  'Coastal',
  'Nordic',
  'Vintage',
  'Modern',
  'Everyday',
  'Premium',
  'Lightweight',
  'Rugged',
  'Soft',
  'Compact',
  'Studio',
  'Heritage',
];
const MATERIALS = [
  'Cotton',
  'Linen',
  'Wool',
  'Oak',
  'Steel',
  'Ceramic',
  'Bamboo',
  'Leather',
  'Merino',
  'Cast Iron',
  'Recycled',
  'Organic',
  'Carbon',
  'Walnut',
];
const COLOURS = [
  'black',
  'white',
  'navy',
  'grey',
  'olive',
  'sand',
  'red',
  'forest green',
  'sky blue',
  'charcoal',
];
const QUALITIES = [
  'built to last',
  'made for every day',
  'designed in Europe',
  'easy to care for',
  'a customer favourite',
  'responsibly sourced',
];
const SIZES = ['XS', 'S', 'M', 'L', 'XL'];
const SHOE_SIZES = ['38', '39', '40', '41', '42', '43', '44', '45', '46'];

const LEAVES = TREE.flatMap((top) => top.children.flatMap((child) => child.leaves));
export const DEMO_SKU_PREFIX = 'DEMO-';
const EPOCH = Date.UTC(2025, 0, 1);

/**
 * The demo's second currency: USD beside any other store currency (EUR beside a USD store), at a
 * fixed demo rate, rounded to a price ending in .99.
 */
export function demoSecondPrice(amount: number, storeCurrency: string): { amount: number; currency: string } {
  const [currency, rate] = storeCurrency === 'USD' ? ['EUR', 1 / 1.08] : ['USD', 1.08];
  return { amount: Math.max(99, Math.round((amount * rate) / 100) * 100 - 1), currency };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function variantAttributes(kind: Kind, random: () => number, count: number): Array<Record<string, string>> {
  const colour = pick(random, COLOURS);
  const start = Math.floor(random() * 4);
  return Array.from({ length: count }, (_, index): Record<string, string> => {
    switch (kind) {
      case 'apparel':
        return { size: SIZES[Math.min(index, SIZES.length - 1)], colour };
      case 'shoes':
        return { size: SHOE_SIZES[(start + index) % SHOE_SIZES.length], colour };
      case 'tech':
        return { colour: COLOURS[(start + index) % COLOURS.length], warranty: `${1 + (index % 3)} years` };
      case 'books':
        return { format: ['paperback', 'hardcover', 'e-book', 'audiobook', 'large print'][index] };
      default:
        return { colour: COLOURS[(start + index) % COLOURS.length] };
    }
  });
}

/**
 * A demo product's options: each attribute whose value differs between its variants (Size of a
 * shirt, Format of a book), named as a shopper reads it; its variants' values of them.
 */
function demoOptions(attributes: Array<Record<string, string>>) {
  const keys = Object.keys(attributes[0]).filter(
    (key) => new Set(attributes.map((each) => each[key])).size > 1,
  );
  const label = (key: string) => key[0].toUpperCase() + key.slice(1);
  return {
    options: keys.map((key) => ({
      name: label(key),
      values: [...new Set(attributes.map((each) => each[key]))],
    })),
    variantOptions: attributes.map((each) => Object.fromEntries(keys.map((key) => [label(key), each[key]]))),
  };
}

/** Demo product number `index`: name, description, category, variants, stock — all from the index. */
function demoProduct(index: number, currency: string) {
  const random = prng(index * 2_654_435_761 + 97);
  const leaf = LEAVES[index % LEAVES.length];
  const noun = pick(random, leaf.nouns);
  const name = `${pick(random, ADJECTIVES)} ${pick(random, MATERIALS)} ${noun}`;
  const quality = pick(random, QUALITIES);
  const description = `A ${name.toLowerCase()} from our ${leaf.name.toLowerCase()} range: ${pick(random, QUALITIES)}. ${quality[0].toUpperCase()}${quality.slice(1)}, with free returns within 30 days.`;
  const basePrice = Math.round((leaf.price[0] + random() * (leaf.price[1] - leaf.price[0])) / 100) * 100 - 10;
  const variantCount = 1 + Math.floor(random() * 5);
  const attributes = variantAttributes(leaf.kind, random, variantCount);
  const { options, variantOptions } = demoOptions(attributes);
  const variants = attributes.map((attrs, position) => ({
    sku: `${DEMO_SKU_PREFIX}${String(index).padStart(7, '0')}-${position + 1}`,
    priceAmount: basePrice + (leaf.kind === 'tech' || leaf.kind === 'books' ? position * 500 : 0),
    currency,
    attributes: attrs,
    options: variantOptions[position],
    // Books are sold at the reduced rate across most of Europe.
    taxClass: leaf.kind === 'books' ? 'reduced' : 'standard',
    position,
    stock: random() < 0.05 ? 0 : Math.floor(random() * 200),
  }));
  return {
    name,
    slug: `${slugify(name)}-${index + 1}`,
    description,
    leaf: leaf.slug,
    options,
    variants,
    at: new Date(EPOCH + index * 60_000),
  };
}

const BATCH = 2000;
// One key for every seeder: two instances starting on one empty database do not both load.
const SEED_LOCK_KEY = 727_120;

/**
 * Loads demo products until the catalog holds `count` of them, in one transaction with batched
 * multi-row inserts (unnest over arrays). Deterministic and resumable: product n is always the same.
 */
export async function seedCatalog(
  db: Db,
  inventory: Pick<InventoryService, 'createItems'>,
  count: number,
  currency: string,
): Promise<number> {
  return transact(db, async (tx) => {
    await sql`select pg_advisory_xact_lock(${SEED_LOCK_KEY})`.execute(tx);
    // New search entries queue in the GIN index's pending list and are merged in fewer, larger steps.
    await sql`set local gin_pending_list_limit = '64MB'`.execute(tx);
    const existing = await store.countDemoProducts(tx, DEMO_SKU_PREFIX);
    if (existing >= count) return 0;
    const categories = TREE.flatMap((top) => [
      { id: uuidv7(), slug: top.slug, name: top.name, parentSlug: null as string | null },
      ...top.children.flatMap((child) => [
        { id: uuidv7(), slug: child.slug, name: child.name, parentSlug: top.slug },
        ...child.leaves.map((leaf) => ({
          id: uuidv7(),
          slug: leaf.slug,
          name: leaf.name,
          parentSlug: child.slug,
        })),
      ]),
    ]);
    const idOfSlug = new Map(categories.map((category) => [category.slug, category.id]));
    // Categories that already exist keep their ids; parents point at the ids that will exist.
    for (const row of await store.categoryIdsBySlug(tx)) idOfSlug.set(row.slug, row.id);
    await store.bulkInsert(tx, {
      categories: categories.map((category) => ({
        id: category.id,
        slug: category.slug,
        name: category.name,
        parentId: category.parentSlug ? (idOfSlug.get(category.parentSlug) ?? null) : null,
      })),
      products: [],
      variants: [],
      variantPrices: [],
      links: [],
    });
    for (let start = existing; start < count; start += BATCH) {
      const products = [];
      const variants = [];
      const variantPrices = [];
      const links = [];
      for (let index = start; index < Math.min(count, start + BATCH); index++) {
        const demo = demoProduct(index, currency);
        const id = uuidv7(demo.at.getTime());
        products.push({
          id,
          slug: demo.slug,
          name: demo.name,
          description: demo.description,
          priceAmount: Math.min(...demo.variants.map((variant) => variant.priceAmount)),
          options: demo.options,
          at: demo.at,
        });
        for (const variant of demo.variants) {
          const variantId = uuidv7(demo.at.getTime());
          variants.push({ ...variant, id: variantId, productId: id });
          variantPrices.push({ ...demoSecondPrice(variant.priceAmount, currency), variantId });
        }
        links.push({ productId: id, categoryId: idOfSlug.get(demo.leaf) as string });
      }
      await store.bulkInsert(tx, { categories: [], products, variants, variantPrices, links });
      await inventory.createItems(
        tx,
        variants.map((variant) => ({ variantId: variant.id, sku: variant.sku, onHand: variant.stock })),
      );
    }
    return count - existing;
  });
}
