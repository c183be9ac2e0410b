import { type Static, Type } from 'typebox';
import { Money, TAX_CLASS_PATTERN } from '../../platform/http/schemas.ts';

const Slug = Type.String({ pattern: '^[a-z0-9]+(-[a-z0-9]+)*$', minLength: 1, maxLength: 80 });
const Sku = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const Attributes = Type.Record(
  Type.String({ minLength: 1, maxLength: 50 }),
  Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()]),
  {
    maxProperties: 20,
    description: 'up to 20 facts about the variant: text, numbers or true/false, e.g. {"size": "M"}',
  },
);

// No space at either end: "M" and "M " would look alike to a shopper and differ to the server.
const OptionName = Type.String({ minLength: 1, maxLength: 50, pattern: '^\\S(.*\\S)?$' });
const OptionValue = Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S(.*\\S)?$' });
export const ProductOptionSchema = Type.Object(
  {
    name: OptionName,
    values: Type.Array(OptionValue, { minItems: 1, maxItems: 100, uniqueItems: true }),
  },
  { additionalProperties: false, description: 'e.g. {"name": "Size", "values": ["S", "M", "L"]}' },
);
const VariantOptions = Type.Record(OptionName, OptionValue, {
  maxProperties: 5,
  description: 'its value of each of the product\'s options, e.g. {"Size": "M", "Colour": "Red"}',
});

export const VariantInput = Type.Object(
  {
    id: Type.Optional(Type.String({ format: 'uuid', description: 'keep this existing variant (PUT/PATCH)' })),
    sku: Sku,
    price: Money,
    prices: Type.Optional(
      Type.Array(Money, { maxItems: 20, description: 'prices in currencies other than the store currency' }),
    ),
    stock: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'initial stock of a new variant' }),
    ),
    attributes: Type.Optional(Attributes),
    options: Type.Optional(VariantOptions),
    taxClass: Type.Optional(
      Type.String({
        pattern: TAX_CLASS_PATTERN,
        description: 'the tax class it is sold under (GET /v1/tax-classes); default standard',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ProductInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    categorySlugs: Type.Optional(Type.Array(Slug, { maxItems: 20, uniqueItems: true })),
    options: Type.Optional(
      Type.Array(ProductOptionSchema, {
        maxItems: 5,
        description: 'what its variants differ by; each variant then names one value of each',
      }),
    ),
    variants: Type.Array(VariantInput, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type ProductInputT = Static<typeof ProductInput>;

/** A merge patch of a product: any subset of its fields; `null` removes an optional one. */
export const ProductPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 10_000 }), Type.Null()])),
    categorySlugs: Type.Optional(
      Type.Union([Type.Array(Slug, { maxItems: 20, uniqueItems: true }), Type.Null()]),
    ),
    options: Type.Optional(Type.Union([Type.Array(ProductOptionSchema, { maxItems: 5 }), Type.Null()])),
    variants: Type.Optional(
      Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1, maxItems: 100 }),
    ),
  },
  { additionalProperties: false },
);

export const VariantSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  sku: Type.String(),
  price: Money,
  prices: Type.Array(Money, { description: 'prices in currencies other than the store currency' }),
  attributes: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
    description: 'free-form facts about the variant, e.g. {"size": "M", "colour": "red"}',
  }),
  options: Type.Record(Type.String(), Type.String(), {
    description: "its value of each of the product's options",
  }),
  taxClass: Type.String({ description: 'the tax class it is sold under' }),
  available: Type.Integer({ description: 'on hand minus reserved' }),
});

/** Renditions come in these widths only, so a client cannot make the server store one per pixel. */
export const RENDITION_WIDTHS = [160, 320, 480, 640, 960, 1280, 1920] as const;

export const ImageSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String({
    description: `the image, long-cached; \`?w=\` resizes it (${RENDITION_WIDTHS.join(', ')} px, the next up)`,
  }),
  width: Type.Integer({ description: 'of the stored image, in pixels' }),
  height: Type.Integer(),
  alt: Type.String({ description: 'what the image shows, for people who cannot see it' }),
});

export const ImageUpload = Type.Object(
  {
    file: Type.String({ format: 'binary', description: 'a JPEG, PNG or WebP image of at most 10 MB' }),
    alt: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const ImagePatch = Type.Object(
  {
    alt: Type.Optional(Type.String({ maxLength: 500 })),
    position: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1000, description: 'its place in the order; 0 is the main image' }),
    ),
  },
  { additionalProperties: false },
);

export const ProductSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  slug: Type.String(),
  description: Type.String(),
  categories: Type.Array(Type.String()),
  options: Type.Array(Type.Object({ name: Type.String(), values: Type.Array(Type.String()) }), {
    description: 'what its variants differ by, in order; empty when it has one kind of variant',
  }),
  images: Type.Array(ImageSchema, { description: 'in display order: the first is the main image' }),
  rating: Type.Object({ average: Type.Number(), count: Type.Integer() }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  archivedAt: Type.Optional(
    Type.String({ format: 'date-time', description: 'when staff archived it: the shop no longer shows it' }),
  ),
  variants: Type.Array(VariantSchema),
});

export const ProductListSchema = Type.Object({
  items: Type.Array(ProductSchema),
  page: Type.Integer(),
  size: Type.Integer(),
  total: Type.Integer(),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  facets: Type.Optional(
    Type.Object(
      {
        category: Type.Optional(Type.Array(Type.Object({ value: Type.String(), count: Type.Integer() }))),
        price: Type.Optional(
          Type.Array(
            Type.Object({
              min: Type.Integer(),
              max: Type.Union([Type.Integer(), Type.Null()], { description: 'null: no upper bound' }),
              count: Type.Integer(),
            }),
            { description: 'bands of the product price in minor units, [min, max)' },
          ),
        ),
        option: Type.Optional(
          Type.Array(Type.Object({ name: Type.String(), value: Type.String(), count: Type.Integer() })),
        ),
      },
      { description: 'with `facets=`: how many of the matching products fall in each' },
    ),
  ),
});

export const CategoryInput = Type.Object(
  {
    slug: Slug,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    parentSlug: Type.Optional(Slug),
  },
  { additionalProperties: false },
);

export const CategorySchema = Type.Object({
  slug: Type.String(),
  name: Type.String(),
  parentSlug: Type.Optional(Type.String()),
});

const CollectionRulesSchema = Type.Object(
  {
    category: Type.Optional(Slug),
    minPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    maxPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  },
  {
    additionalProperties: false,
    description:
      'products in the category (or below it) and within the price range, in minor units; all given rules must match',
  },
);

export const CollectionInputSchema = Type.Object(
  {
    slug: Slug,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    productIds: Type.Optional(
      Type.Array(Type.String({ format: 'uuid' }), {
        maxItems: 1000,
        uniqueItems: true,
        description: 'a manual collection: these products, in this order',
      }),
    ),
    rules: Type.Optional(CollectionRulesSchema),
  },
  { additionalProperties: false },
);

export const CollectionSchema = Type.Object({
  slug: Type.String(),
  name: Type.String(),
  description: Type.String(),
  productIds: Type.Optional(
    Type.Array(Type.String({ format: 'uuid' }), { description: 'a manual collection, in order' }),
  ),
  rules: Type.Optional(CollectionRulesSchema),
});
