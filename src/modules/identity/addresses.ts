import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, notFound } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { type AddressFields, type AddressRow, addressStore as store } from './store.ts';

/** Most addresses one account keeps. */
export const ADDRESS_LIMIT = 20;

export interface AddressInput {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
}

/** A saved address, as the API shows it. */
export interface SavedAddress extends AddressInput {
  id: string;
  /** Checkout offers it first. */
  isDefault: boolean;
  createdAt: string;
}

const toAddress = (row: AddressRow): SavedAddress => ({
  id: row.id,
  name: row.name,
  line1: row.line1,
  ...(row.line2 ? { line2: row.line2 } : {}),
  city: row.city,
  postalCode: row.postalCode,
  country: row.country,
  isDefault: row.isDefault,
  createdAt: row.createdAt.toISOString(),
});

const LABELS = {
  name: 'name',
  line1: 'first address line',
  city: 'city',
  postalCode: 'postal code',
  country: 'country',
};

/**
 * What people typed, without the spaces around it; an emptied second line is no second line. A
 * required field of spaces alone is 400, as an empty one is.
 */
function fieldsOf(input: Partial<AddressInput>): Partial<AddressFields> {
  const fields: Partial<AddressFields> = {};
  for (const key of ['name', 'line1', 'city', 'postalCode', 'country'] as const) {
    if (input[key] === undefined) continue;
    fields[key] = input[key].trim();
    if (!fields[key])
      throw badRequest('VALIDATION_FAILED', `Fill in the ${LABELS[key]}: spaces alone are not one`, {
        errors: [{ path: `/${key}`, message: 'must not be blank' }],
      });
  }
  if (input.line2 !== undefined) fields.line2 = input.line2.trim() || null;
  return fields;
}

const missing = (): never => {
  throw notFound('Address');
};

/** The signed-in customer's address book (identity owns it: it is account data, erased with the account). */
export function createAddressBook(db: Db) {
  return {
    async list(userId: string): Promise<SavedAddress[]> {
      return (await store.list(db, userId)).map(toAddress);
    },

    async add(userId: string, input: AddressInput & { isDefault?: boolean }): Promise<SavedAddress> {
      const fields = { line2: null, ...fieldsOf(input) } as AddressFields;
      const row = await transact(db, (tx) =>
        store.insert(
          tx,
          userId,
          { ...fields, id: uuidv7(), isDefault: input.isDefault ?? false },
          ADDRESS_LIMIT,
        ),
      );
      if (!row)
        throw conflict(
          'ADDRESS_LIMIT',
          `An account keeps at most ${ADDRESS_LIMIT} addresses: remove one you no longer use first`,
        );
      return toAddress(row);
    },

    async update(
      userId: string,
      id: string,
      input: Partial<AddressInput> & { isDefault?: boolean },
    ): Promise<SavedAddress> {
      // Thrown inside: a missing address rolls back the default it would have taken over.
      const row = await transact(
        db,
        async (tx) =>
          (await store.update(tx, userId, id, { ...fieldsOf(input), isDefault: input.isDefault })) ??
          missing(),
      );
      return toAddress(row);
    },

    async remove(userId: string, id: string): Promise<void> {
      if (!(await store.remove(db, userId, id))) missing();
    },
  };
}

export type AddressBook = ReturnType<typeof createAddressBook>;
