/** Loggers: `lightning-ts`'s `loggers` namespace, as `lightning.pytorch.loggers`. */
export { Logger, type LoggerStatus } from "./logger";
export { CSVLogger, type CSVLoggerOptions } from "./csv_logger";
export { CsvExperimentWriter, METRICS_FILE_NAME } from "./csv_experiment_writer";
export { TensorBoardLogger, type TensorBoardLoggerOptions } from "./tensorboard_logger";
export { SummaryWriter, type SummaryWriterOptions } from "./summary_writer";
export { EventFileWriter, type EventFileWriterOptions } from "./event_file_writer";
export { HPARAMS_FILE_NAME, hparamsToYaml, saveHparamsToYaml } from "./hparams_yaml";
export { dumpYaml, YamlRepresentationError } from "./yaml_emitter";
export { rankZeroOnly, rankZeroWarn, rankFromEnv, dummyExperiment, type RankZeroOnly } from "../utilities/rank_zero";
export { nextVersion, versionDirName, type Version } from "./versioning";
export type { MetricValue } from "./params";
