import { type Generated, type Kysely, sql } from 'kysely';
import type { Db } from '../../platform/db/index.ts';

type CustomerTables = {
  customer_groups: { id: string; name: string; created_at: Generated<Date> };
  customer_group_members: { group_id: string; user_id: string; added_at: Generated<Date> };
};

export interface GroupRow {
  id: string;
  name: string;
  createdAt: Date;
  memberCount: number;
}

const tables = (executor: Db): Kysely<CustomerTables> => executor.withTables<CustomerTables>();

const isUniqueViolation = (error: unknown) => (error as { code?: unknown } | null)?.code === '23505';

export const groupStore = {
  /** Undefined when another group has the name (names are unique, whatever the case). */
  async insert(executor: Db, group: { id: string; name: string }): Promise<GroupRow | undefined> {
    try {
      const row = await tables(executor)
        .insertInto('customer_groups')
        .values(group)
        .returning(['id', 'name', 'created_at as createdAt'])
        .executeTakeFirstOrThrow();
      return { ...row, memberCount: 0 };
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  },

  /** Every group with its member count, by name. */
  list(executor: Db, ids?: readonly string[]): Promise<GroupRow[]> {
    let query = tables(executor)
      .selectFrom('customer_groups')
      .leftJoin('customer_group_members', 'customer_group_members.group_id', 'customer_groups.id')
      .select([
        'customer_groups.id',
        'customer_groups.name',
        'customer_groups.created_at as createdAt',
        sql<number>`count(customer_group_members.user_id)::int`.as('memberCount'),
      ])
      .groupBy('customer_groups.id')
      .orderBy(sql`lower(customer_groups.name)`);
    if (ids) {
      if (ids.length === 0) return Promise.resolve([]);
      query = query.where('customer_groups.id', 'in', [...ids]);
    }
    return query.execute();
  },

  async rename(executor: Db, id: string, name: string): Promise<'renamed' | 'missing' | 'taken'> {
    try {
      const result = await tables(executor)
        .updateTable('customer_groups')
        .set({ name })
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n ? 'renamed' : 'missing';
    } catch (error) {
      if (isUniqueViolation(error)) return 'taken';
      throw error;
    }
  },

  async remove(executor: Db, id: string): Promise<boolean> {
    const result = await tables(executor)
      .deleteFrom('customer_groups')
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  },

  /** Adds the member (again is nothing); false when the group does not exist. */
  async addMember(executor: Db, groupId: string, userId: string): Promise<boolean> {
    const result = await tables(executor)
      .insertInto('customer_group_members')
      .columns(['group_id', 'user_id'])
      .expression((eb) =>
        eb
          .selectFrom('customer_groups')
          .select([sql<string>`id`.as('group_id'), sql<string>`${userId}::uuid`.as('user_id')])
          .where('id', '=', groupId),
      )
      .onConflict((conflict) => conflict.columns(['group_id', 'user_id']).doNothing())
      .executeTakeFirst();
    if (result.numInsertedOrUpdatedRows && result.numInsertedOrUpdatedRows > 0n) return true;
    return (
      (await tables(executor)
        .selectFrom('customer_groups')
        .select('id')
        .where('id', '=', groupId)
        .executeTakeFirst()) !== undefined
    );
  },

  async removeMember(executor: Db, groupId: string, userId: string): Promise<boolean> {
    const result = await tables(executor)
      .deleteFrom('customer_group_members')
      .where('group_id', '=', groupId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  },

  /** The members' ids, longest-standing first. */
  async members(executor: Db, groupId: string): Promise<string[]> {
    const rows = await tables(executor)
      .selectFrom('customer_group_members')
      .select('user_id')
      .where('group_id', '=', groupId)
      .orderBy('added_at')
      .execute();
    return rows.map((row) => row.user_id);
  },

  /** The ids of the groups a customer is in. */
  async groupsOf(executor: Db, userId: string): Promise<string[]> {
    const rows = await tables(executor)
      .selectFrom('customer_group_members')
      .select('group_id')
      .where('user_id', '=', userId)
      .execute();
    return rows.map((row) => row.group_id);
  },

  /** An erased account leaves every group. */
  async forget(executor: Db, userId: string): Promise<void> {
    await tables(executor).deleteFrom('customer_group_members').where('user_id', '=', userId).execute();
  },
};
