import type { Money } from './money.ts';

/** The shapes of API.md, as far as the front end reads them. */
export type Role = 'customer' | 'staff' | 'admin';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
}

export interface TokenPair {
  user: User;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
}

export interface Page<T> {
  items: T[];
  page: number;
  size: number;
  total: number;
  nextCursor?: string | null;
}

export interface Variant {
  id: string;
  sku: string;
  price: Money;
  prices: Money[];
  attributes: Record<string, unknown>;
  available: number;
}

export interface Product {
  id: string;
  name: string;
  slug: string;
  description: string;
  categories: string[];
  rating: { average: number; count: number };
  createdAt: string;
  updatedAt: string;
  variants: Variant[];
}

export interface Category {
  slug: string;
  name: string;
  parentSlug?: string;
}

export interface Review {
  id: string;
  rating: number;
  title?: string;
  body: string;
  createdAt: string;
}

export interface Totals {
  subtotal: Money;
  discountTotal: Money;
  shippingTotal: Money;
  taxTotal: Money;
  total: Money;
}

export interface LineItem {
  id: string;
  variantId: string;
  sku: string;
  name: string;
  quantity: number;
  unitPrice: Money;
  lineTotal: Money;
  discount: Money;
  tax: Money;
}

export interface ShippingMethod {
  id: string;
  name: string;
  country?: string;
  price: Money;
  minDays: number;
  maxDays: number;
}

export interface Cart {
  id: string;
  currency: string;
  items: LineItem[];
  totals: Totals;
  total: Money;
  promotion?: { code: string; kind: string };
  promotionProblem?: { code: string; detail: string };
  shippingMethod?: ShippingMethod;
  unavailable?: string[];
}

export type OrderStatus = 'pending' | 'confirmed' | 'cancelled' | 'partially_shipped' | 'shipped';

export interface Address {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
}

export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  items: LineItem[];
  total: Money;
  totals: Totals;
  shippingAddress: Address;
  payment: { status: string; amount: Money; refunded: Money };
  promotionCode?: string;
  shippingMethod?: { id?: string; name?: string };
  cancelReason?: string;
  createdAt: string;
  updatedAt: string;
}

export interface Stock {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

export interface Fulfillment {
  id: string;
  orderId: string;
  items: { orderItemId: string; quantity: number }[];
  carrier: string;
  trackingNumber: string;
}

export interface Return {
  id: string;
  orderId: string;
  status: 'requested' | 'receiving' | 'received';
  items: { orderItemId: string; quantity: number }[];
  reason: string;
  refund?: Money;
  createdAt: string;
}
