import { type TSchema, Type } from 'typebox';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true },
);

export const ProblemRef = Type.Ref('Problem');

export const Money = Type.Object(
  {
    amount: Type.Integer({ minimum: 0, description: 'minor units (cents)' }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217' }),
  },
  { additionalProperties: false },
);

export const Uuid = Type.String({ format: 'uuid' });

/**
 * Text a person typed: no control characters (PostgreSQL text and jsonb cannot even hold NUL, and
 * nothing a shopper writes on a label needs a bell or an escape).
 */
export const PlainText = ({
  lines,
  ...options
}: {
  minLength?: number;
  maxLength: number;
  description?: string;
  /** Line breaks and tabs allowed (a review's body), still no other control character. */
  lines?: boolean;
}) => Type.String({ ...options, pattern: lines ? '^(?:[\\t\\n\\r]|[^\\p{Cc}])*$' : '^[^\\p{Cc}]*$' });
export const IdParams = Type.Object({ id: Uuid });

export const PageQuery = {
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
};

export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    page: Type.Integer(),
    size: Type.Integer(),
    total: Type.Integer(),
  });
}

const Text = (maxLength: number) => PlainText({ minLength: 1, maxLength });

/** A postal address's fields: what an order ships to, a cart's destination and a saved address are made of. */
export const addressFields = {
  name: Text(200),
  line1: Text(200),
  line2: Type.Optional(PlainText({ maxLength: 200 })),
  city: Text(100),
  postalCode: Text(20),
  country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }),
};

/** A full postal address, as an order ships to it. */
export const AddressSchema = Type.Object(addressFields, { additionalProperties: false });

/** The header of an ORDER_HOLDER route, for a guest who has no account. */
export const OrderTokenHeader = Type.Object({
  'order-token': Type.Optional(
    Type.String({ description: "A guest order's token, in place of a bearer token" }),
  ),
});

/** A tax class's code (pricing owns the classes; a variant names the one it is sold under). */
export const TAX_CLASS_PATTERN = '^[a-z][a-z0-9_-]{0,31}$';
export const TaxClassCode = Type.String({
  pattern: TAX_CLASS_PATTERN,
  description: 'e.g. standard, reduced, zero',
});
