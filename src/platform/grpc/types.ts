import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

/** One gRPC service a module offers: its definition (from a .proto) and its handlers. */
export interface GrpcService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}
