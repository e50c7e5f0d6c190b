/**
 * Why a `network` command refused or failed. The message is the operator's line; the exit code says whose
 * fault it was: 2 for a wrong command line, 1 for everything else (as `lianxin` does).
 */
export type NetworkErrorCode =
  /** An unknown option or a malformed value on the command line. */
  | 'USAGE'
  /** Another `network up` or `down` holds the data directory's lock. */
  | 'LOCKED'
  /** A process did not come up (exited, or not serving in time); what this `up` started is stopped again. */
  | 'START_FAILED'
  /** add-org would start a node in a data directory that records no network: nothing would manage it. */
  | 'NOT_RECORDED'
  /** `up` got SIGINT or SIGTERM while it worked; what it started is stopped again. */
  | 'INTERRUPTED'
  /** A process survived SIGKILL (stuck in the kernel); it stays recorded. */
  | 'STOP_FAILED'
  /** The data directory already runs a network of another consortium file. */
  | 'CONFLICT'
  /** A file under <data-dir>/run is not what `up` writes (hand-edited, truncated). */
  | 'RUN_STATE_INVALID'
  /** A channel membership change the ledger or the chain refused (add-org). */
  | 'MEMBERSHIP_REFUSED'
  /** A change of the channel's config the orderer refused, or the admins here cannot sign (batch). */
  | 'CHANNEL_CHANGE_REFUSED'
  /** The chain refused a registry read or change, or did not answer (uscc-mode). */
  | 'REGISTRY_CALL_FAILED';

export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    readonly code: NetworkErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get exitCode(): 1 | 2 {
    return this.code === 'USAGE' ? 2 : 1;
  }
}
