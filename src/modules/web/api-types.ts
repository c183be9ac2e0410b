import type { Static } from 'typebox';
import type { CartSchema, LineItemSchema, TotalsSchema } from '../cart/index.ts';
import type { CategorySchema, CollectionSchema, ProductListSchema, ProductSchema } from '../catalog/index.ts';
import type { CustomerDetailSchema, CustomerGroupSchema, CustomerSchema } from '../customers/index.ts';
import type { FulfillmentSchema, ReturnSchema } from '../fulfillment/index.ts';
import type {
  GiftCardDetailSchema,
  GiftCardSchema,
  IssuedGiftCardSchema,
  StoreCreditSchema,
} from '../giftcards/index.ts';
import type {
  ApiKeySchema,
  RoleViewSchema,
  SavedAddressSchema,
  StaffInviteSchema,
  TokenPairSchema,
  UserSchema,
} from '../identity/index.ts';
import type { LowStockSchema, StockLocationSchema, StockSchema } from '../inventory/index.ts';
import type {
  DraftOrderSchema,
  EditPreviewSchema,
  NoteSchema,
  OrderEditSchema,
  OrderSchema,
  RefundSchema,
  SalesReportSchema,
  TimelineEntrySchema,
} from '../ordering/index.ts';
import type { DriftSchema } from '../payments/index.ts';
import type { RegionSchema, ShippingMethodSchema } from '../pricing/index.ts';
import type { ReviewSchema } from '../reviews/index.ts';
import type { MailPreviewSchema, StoreSettingsSchema } from '../settings/index.ts';
import type { DeliverySchema, EndpointSchema } from '../webhooks/index.ts';

/**
 * The bodies the storefront and admin console read, derived from the same schemas that validate
 * the responses and generate the OpenAPI document: a field the API changes fails the web build's
 * type check instead of drifting. Types only; nothing of the server reaches the browser bundle.
 */
export type User = Static<typeof UserSchema>;
export type TokenPair = Static<typeof TokenPairSchema>;
export type Product = Static<typeof ProductSchema>;
export type Variant = Product['variants'][number];
export type ProductImage = Product['images'][number];
export type Collection = Static<typeof CollectionSchema>;
/** A page of products, with `facets` when the request asked for them. */
export type ProductList = Static<typeof ProductListSchema>;
export type Category = Static<typeof CategorySchema>;
export type Review = Static<typeof ReviewSchema>;
export type Totals = Static<typeof TotalsSchema>;
export type LineItem = Static<typeof LineItemSchema>;
export type ShippingMethod = Static<typeof ShippingMethodSchema>;
export type Region = Static<typeof RegionSchema>;
export type Cart = Static<typeof CartSchema>;
export type Order = Static<typeof OrderSchema>;
export type Refund = Static<typeof RefundSchema>;
export type OrderEdit = Static<typeof OrderEditSchema>;
export type EditPreview = Static<typeof EditPreviewSchema>;
export type DraftOrder = Static<typeof DraftOrderSchema>;
export type PaymentDrift = Static<typeof DriftSchema>;
export type OrderStatus = Order['status'];
export type Address = Order['shippingAddress'];
export type Stock = Static<typeof StockSchema>;
export type StockLocation = Static<typeof StockLocationSchema>;
export type Fulfillment = Static<typeof FulfillmentSchema>;
export type Return = Static<typeof ReturnSchema>;
export type Customer = Static<typeof CustomerSchema>;
export type GiftCard = Static<typeof GiftCardSchema>;
export type GiftCardDetail = Static<typeof GiftCardDetailSchema>;
export type IssuedGiftCard = Static<typeof IssuedGiftCardSchema>;
export type StoreCredit = Static<typeof StoreCreditSchema>;
export type CustomerDetail = Static<typeof CustomerDetailSchema>;
export type CustomerGroup = Static<typeof CustomerGroupSchema>;
export type Role = User['role'];
export type SavedAddress = Static<typeof SavedAddressSchema>;
export type RoleView = Static<typeof RoleViewSchema>;
export type StaffInvite = Static<typeof StaffInviteSchema>;
export type Permission = Me['permissions'][number];
export type Me = TokenPair['user'];
export type ApiKey = Static<typeof ApiKeySchema>;
export type SalesReport = Static<typeof SalesReportSchema>;
export type TimelineEntry = Static<typeof TimelineEntrySchema>;
export type OrderNote = Static<typeof NoteSchema>;
export type LowStock = Static<typeof LowStockSchema>;
export type WebhookEndpoint = Static<typeof EndpointSchema>;
export type WebhookDelivery = Static<typeof DeliverySchema>;
export type StoreSettings = Static<typeof StoreSettingsSchema>;
export type MailPreview = Static<typeof MailPreviewSchema>;
