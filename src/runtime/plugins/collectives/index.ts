export { TCPStoreServer } from "./tcp_store_server.ts";
export { TCPStoreClient, type TCPStoreClientOptions } from "./tcp_store_client.ts";
