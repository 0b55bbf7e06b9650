/**
 * Environment variables as a function reads them (`process.env` by default). Spelled here rather
 * than as `NodeJS.ProcessEnv` so that the published declarations need no `@types/node`: a project
 * with `"types": []` still type-checks against them.
 */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;
