/** Loggers: `lightning-ts`'s `loggers` namespace, as `lightning.pytorch.loggers`. */
export { Logger, type LoggerStatus } from "./logger.ts";
export { CSVLogger, type CSVLoggerOptions } from "./csv_logger.ts";
export { CsvExperimentWriter, METRICS_FILE_NAME } from "./csv_experiment_writer.ts";
export { TensorBoardLogger, type TensorBoardLoggerOptions } from "./tensorboard_logger.ts";
export { SummaryWriter, type SummaryWriterOptions } from "./summary_writer.ts";
export { readEventFile } from "./event_file_reader.ts";
export type { EventMessage, SummaryMessage, SummaryValueMessage } from "./event_protos.ts";
export { EventFileWriter, type EventFileWriterOptions } from "./event_file_writer.ts";
export { HPARAMS_FILE_NAME, hparamsToYaml, saveHparamsToYaml } from "./hparams_yaml.ts";
export { dumpYaml, YamlRepresentationError } from "./yaml_emitter.ts";
export { rankZeroOnly, rankZeroWarn, rankFromEnv, dummyExperiment, type RankZeroOnly } from "../utilities/rank_zero.ts";
export { nextVersion, versionDirName, type Version } from "./versioning.ts";
export type { MetricValue } from "./params.ts";
