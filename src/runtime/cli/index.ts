export { LightningCLI, type LightningCLIOptions, type CLIConfig, type Subcommand } from "./lightning_cli.ts";
