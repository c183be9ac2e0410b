/** The shapes of API.md the front end reads: the server's own response schemas (see api-types.ts). */
export type {
  Address,
  ApiKey,
  Cart,
  Category,
  Collection,
  Customer,
  CustomerDetail,
  CustomerGroup,
  DraftOrder,
  EditPreview,
  Fulfillment,
  GiftCard,
  GiftCardDetail,
  IssuedGiftCard,
  LineItem,
  LowStock,
  MailPreview,
  Order,
  OrderEdit,
  OrderNote,
  OrderStatus,
  PaymentDrift,
  Permission,
  Product,
  ProductImage,
  ProductList,
  Refund,
  Region,
  Return,
  Review,
  Role,
  RoleView,
  SalesReport,
  SavedAddress,
  ShippingMethod,
  StaffInvite,
  Stock,
  StockLocation,
  StoreCredit,
  StoreSettings,
  TimelineEntry,
  TokenPair,
  Totals,
  User,
  Variant,
  WebhookDelivery,
  WebhookEndpoint,
} from '../../src/modules/web/api-types.ts';

/** One page of a list (its item type is the list's). */
export interface Page<T> {
  items: T[];
  page: number;
  size: number;
  total: number;
  nextCursor?: string | null;
}
