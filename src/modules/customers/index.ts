import type { AppModule } from '../../platform/module.ts';
import { customerRoutes } from './routes.ts';
import {
  type CustomerAccounts,
  type CustomerOrders,
  type CustomerService,
  createCustomerService,
} from './service.ts';

export { CustomerDetailSchema, CustomerSchema } from './routes.ts';
export type { Customer, CustomerDetail, CustomerService } from './service.ts';

export interface CustomersModule extends AppModule {
  name: 'customers';
  service: CustomerService;
}

/** Staff's customer views, composed from identity's accounts and ordering's orders. */
export function createCustomers(deps: {
  accounts: CustomerAccounts;
  orders: CustomerOrders;
  storeCurrency: string;
}): CustomersModule {
  const service = createCustomerService(deps);
  return { name: 'customers', service, routes: customerRoutes(service) };
}
