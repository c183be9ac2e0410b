import type { Permission } from '../types.ts';

/** What each permission lets a role or a key do, in the words the console shows, in the order it lists them. */
export const PERMISSION_TEXT: ReadonlyArray<readonly [Permission, string]> = [
  ['catalog:read', 'Read products and reviews'],
  ['catalog:write', 'Change products, categories and reviews'],
  ['inventory:read', 'Read stock'],
  ['inventory:write', 'Change stock'],
  ['orders:read', 'Read orders, shipments and returns'],
  ['orders:write', 'Ship, refund and cancel orders'],
  ['customers:read', 'Read customers and their groups'],
  ['customers:write', 'Change customer groups'],
  ['pricing:read', 'Read promotions, tax and shipping'],
  ['pricing:write', 'Change promotions, tax and shipping'],
  ['webhooks:read', 'Read webhooks and their deliveries'],
  ['webhooks:write', 'Change webhooks'],
  ['staff:read', 'See the staff, their roles and invitations'],
  ['staff:write', 'Invite staff, change roles and API keys'],
];

export const permissionText = (permission: string): string =>
  PERMISSION_TEXT.find(([name]) => name === permission)?.[1] ?? permission;
