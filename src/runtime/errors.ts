/**
 * The error every invalid or not-yet-supported Lite/Trainer flag raises (Lightning's
 * `MisconfigurationException`). A separate class so callers and tests can tell a configuration
 * mistake from a failure during training.
 */
export class MisconfigurationError extends Error {
  override name = "MisconfigurationError";
}

/**
 * A multi-process job failed between ranks: a peer that never joined, died or stopped answering
 * (torch.distributed's `DistBackendError`). The message names this process's rank.
 */
export class DistributedError extends Error {
  override name = "DistributedError";
}
