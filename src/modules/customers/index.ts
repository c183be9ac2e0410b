import type { Db } from '../../platform/db/index.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import { onAccountErased } from '../identity/index.ts';
import { customerRoutes } from './routes.ts';
import {
  type CustomerAccounts,
  type CustomerOrders,
  type CustomerService,
  createCustomerService,
} from './service.ts';

export {
  CustomerDetailSchema,
  CustomerGroupDetailSchema,
  CustomerGroupSchema,
  CustomerSchema,
} from './routes.ts';
export type { Customer, CustomerDetail, CustomerGroup, CustomerService } from './service.ts';

export interface CustomersModule extends AppModule {
  name: 'customers';
  service: CustomerService;
}

/**
 * Staff's customer views, composed from identity's accounts and ordering's orders, and the
 * customer groups this module owns. Built by every role: the worker takes erased accounts out
 * of their groups.
 */
export function createCustomers(deps: {
  db: Db;
  bus: Pick<EventBus, 'subscribe'>;
  accounts: CustomerAccounts;
  orders: CustomerOrders;
  storeCurrency: string;
}): CustomersModule {
  const service = createCustomerService(deps);
  onAccountErased(deps.bus, 'customers', service.groups.forget);
  return { name: 'customers', service, routes: customerRoutes(service) };
}
