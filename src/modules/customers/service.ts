import type { Db } from '../../platform/db/index.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import type { Principal } from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { Money } from '../cart/index.ts';
import type { SavedAddress, User } from '../identity/index.ts';
import type { Order } from '../ordering/index.ts';
import { type GroupRow, groupStore } from './store.ts';

/** A customer as staff see them: the account and what they bought. */
export interface Customer {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
  createdAt: string;
  /** Paid orders: confirmed or shipped, even in part. */
  orderCount: number;
  /** What they kept paid (totals less refunds) in the store's currency. */
  totalSpent: Money;
  /** The same in the other currencies they bought in, if any. */
  spentInOtherCurrencies: Money[];
  lastOrderAt?: string;
}

/** A customer group, as staff see it. */
export interface CustomerGroup {
  id: string;
  name: string;
  memberCount: number;
  createdAt: string;
}

/** A group with who is in it. */
export interface CustomerGroupDetail extends CustomerGroup {
  members: Array<{ id: string; email: string; name: string }>;
}

const toGroup = (row: GroupRow): CustomerGroup => ({
  id: row.id,
  name: row.name,
  memberCount: row.memberCount,
  createdAt: row.createdAt.toISOString(),
});

export interface CustomerDetail extends Customer {
  /** The groups they are in, by name. */
  groups: Array<{ id: string; name: string }>;
  /** Their orders, newest first (the latest 20). */
  orders: Order[];
  /** Their address book, the default first. */
  addresses: SavedAddress[];
}

/** What customers reads from identity: the accounts. */
export interface CustomerAccounts {
  customers(query: {
    q?: string;
    page: number;
    size: number;
    oldestFirst?: boolean;
  }): Promise<{ users: User[]; total: number }>;
  user(id: string): Promise<User>;
  addressesOf(userId: string): Promise<SavedAddress[]>;
}

/** What customers reads from ordering: what each bought, and their orders. */
export interface CustomerOrders {
  spendingOf(
    userIds: readonly string[],
  ): Promise<Map<string, { orderCount: number; spent: Money[]; lastOrderAt: string }>>;
  list(
    principal: Principal,
    query: { page: number; size: number; userId?: string },
  ): Promise<{ items: Order[]; total: number }>;
}

/**
 * Staff's view of the shop's customers: accounts from identity beside what ordering knows they
 * bought, joined here through both modules' public doors (neither's tables are read), one query
 * to each per page.
 */
export function createCustomerService(deps: {
  db: Db;
  accounts: CustomerAccounts;
  orders: CustomerOrders;
  storeCurrency: string;
}) {
  const { db, accounts, orders, storeCurrency } = deps;

  /** The account, when it is a customer's (staff accounts are not customers). */
  async function customerAccount(id: string): Promise<User> {
    const user = await accounts.user(id);
    if (user.role !== 'customer') throw notFound('Customer');
    return user;
  }

  const missingGroup = (): never => {
    throw notFound('Customer group');
  };
  const nameTaken = (name: string) =>
    conflict('GROUP_NAME_TAKEN', `There is a group called “${name}” already: choose another name`);

  function toCustomer(user: User, spending: Awaited<ReturnType<CustomerOrders['spendingOf']>>): Customer {
    const bought = spending.get(user.id);
    const spent = bought?.spent ?? [];
    const customer: Customer = {
      id: user.id,
      email: user.email,
      name: user.name,
      emailVerified: user.emailVerified,
      createdAt: user.createdAt,
      orderCount: bought?.orderCount ?? 0,
      totalSpent: spent.find((money) => money.currency === storeCurrency) ?? {
        amount: 0,
        currency: storeCurrency,
      },
      spentInOtherCurrencies: spent.filter((money) => money.currency !== storeCurrency),
    };
    if (bought) customer.lastOrderAt = bought.lastOrderAt;
    return customer;
  }

  return {
    async list(query: { q?: string; page: number; size: number; oldestFirst?: boolean }) {
      const { users, total } = await accounts.customers(query);
      const spending = await orders.spendingOf(users.map((user) => user.id));
      return {
        items: users.map((user) => toCustomer(user, spending)),
        page: query.page,
        size: query.size,
        total,
      };
    },

    /** One customer with their latest orders and their addresses; 404 for an unknown id or a staff account. */
    async get(principal: Principal, id: string): Promise<CustomerDetail> {
      const user = await customerAccount(id);
      const [spending, latest, addresses, groupIds] = await Promise.all([
        orders.spendingOf([id]),
        orders.list(principal, { page: 1, size: 20, userId: id }),
        accounts.addressesOf(id),
        groupStore.groupsOf(db, id),
      ]);
      const groups = (await groupStore.list(db, groupIds)).map(({ id: groupId, name }) => ({
        id: groupId,
        name,
      }));
      return { ...toCustomer(user, spending), groups, orders: latest.items, addresses };
    },

    groups: {
      async create(name: string): Promise<CustomerGroup> {
        const row = await groupStore.insert(db, { id: uuidv7(), name: name.trim() });
        if (!row) throw nameTaken(name.trim());
        return toGroup(row);
      },

      list: async (): Promise<CustomerGroup[]> => (await groupStore.list(db)).map(toGroup),

      async get(id: string): Promise<CustomerGroupDetail> {
        const [row] = await groupStore.list(db, [id]);
        if (!row) missingGroup();
        const members = await Promise.all(
          (await groupStore.members(db, id)).map(async (userId) => {
            const user = await accounts.user(userId);
            return { id: user.id, email: user.email, name: user.name };
          }),
        );
        return { ...toGroup(row), members };
      },

      async rename(id: string, name: string): Promise<CustomerGroup> {
        const outcome = await groupStore.rename(db, id, name.trim());
        if (outcome === 'missing') missingGroup();
        if (outcome === 'taken') throw nameTaken(name.trim());
        return toGroup((await groupStore.list(db, [id]))[0]);
      },

      async remove(id: string): Promise<void> {
        if (!(await groupStore.remove(db, id))) missingGroup();
      },

      /** Puts a customer in the group; putting them in again changes nothing. */
      async addMember(groupId: string, userId: string): Promise<void> {
        await customerAccount(userId);
        if (!(await groupStore.addMember(db, groupId, userId))) missingGroup();
      },

      async removeMember(groupId: string, userId: string): Promise<void> {
        if (!(await groupStore.removeMember(db, groupId, userId))) throw notFound('Member of this group');
      },

      /** The groups a customer is in (price lists and promotions ask this). */
      groupIdsOf: (userId: string, executor: Db = db) => groupStore.groupsOf(executor, userId),

      /** An erased account leaves every group. */
      forget: (userId: string) => groupStore.forget(db, userId),
    },
  };
}

export type CustomerService = ReturnType<typeof createCustomerService>;
