export * from "./precision/index.ts";
export * from "./environments/index.ts";
