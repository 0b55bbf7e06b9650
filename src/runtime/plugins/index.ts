export * from "./precision/index";
export * from "./environments/index";
