export { TCPStoreServer } from "./tcp_store_server.ts";
export { TCPStoreClient, type TCPStoreClientOptions } from "./tcp_store_client.ts";
export { RingCollectives, type ReduceOp } from "./ring_collectives.ts";
