import { notFound } from '../../platform/errors.ts';
import type { Principal } from '../../platform/http/auth.ts';
import type { Money } from '../cart/index.ts';
import type { SavedAddress, User } from '../identity/index.ts';
import type { Order } from '../ordering/index.ts';

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

export interface CustomerDetail extends Customer {
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
  accounts: CustomerAccounts;
  orders: CustomerOrders;
  storeCurrency: string;
}) {
  const { accounts, orders, storeCurrency } = deps;

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
      const user = await accounts.user(id);
      if (user.role !== 'customer') throw notFound('Customer');
      const [spending, latest, addresses] = await Promise.all([
        orders.spendingOf([id]),
        orders.list(principal, { page: 1, size: 20, userId: id }),
        accounts.addressesOf(id),
      ]);
      return { ...toCustomer(user, spending), orders: latest.items, addresses };
    },
  };
}

export type CustomerService = ReturnType<typeof createCustomerService>;
