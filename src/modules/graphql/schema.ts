/** The GraphQL schema: a read view over the same services the REST API uses. */
export const schema = /* GraphQL */ `
  type Query {
    "Live products, filtered and sorted like GET /v1/products; cursor pagination."
    products(
      q: String
      category: String
      minPrice: Int
      maxPrice: Int
      sort: String
      first: Int = 20
      after: String
    ): ProductConnection!
    "A live product; null when there is none with this id."
    product(id: ID!): Product
    "The signed-in user (Authorization: Bearer <access token>)."
    me: User!
    "The signed-in user's orders, newest first."
    myOrders(first: Int = 20): [Order!]!
  }

  type Money {
    "Integer minor units."
    amount: Int!
    currency: String!
  }

  type PageInfo {
    hasNextPage: Boolean!
    "Pass as 'after' for the next page; null on the last page."
    endCursor: String
  }

  type ProductConnection {
    nodes: [Product!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type Rating {
    average: Float
    count: Int!
  }

  type Product {
    id: ID!
    name: String!
    slug: String!
    description: String!
    categories: [String!]!
    rating: Rating!
    variants: [Variant!]!
    "The newest reviews."
    reviews(first: Int = 5): [Review!]!
    createdAt: String!
    updatedAt: String!
  }

  type Variant {
    id: ID!
    sku: String!
    price: Money!
    available: Int!
  }

  type Review {
    id: ID!
    rating: Int!
    title: String
    body: String!
    "Written by someone who bought the product."
    verifiedPurchase: Boolean!
    createdAt: String!
  }

  type User {
    id: ID!
    email: String!
    name: String!
    role: String!
    createdAt: String!
  }

  type OrderItem {
    sku: String!
    name: String!
    quantity: Int!
    unitPrice: Money!
    lineTotal: Money!
  }

  type Order {
    id: ID!
    status: String!
    total: Money!
    items: [OrderItem!]!
    createdAt: String!
  }
`;
