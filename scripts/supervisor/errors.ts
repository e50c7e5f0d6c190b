/** Why a supervised child did not come up. The message is the operator's line: the child's own words first. */
export type SupervisorErrorCode =
  /** The child exited before it was serving; the message carries its last line on stderr (or stdout). */
  | 'CHILD_EXITED'
  /** The child kept running but was not serving within the start-up timeout. */
  | 'CHILD_NOT_READY'
  /** The start was interrupted (SIGINT/SIGTERM to the supervisor). */
  | 'ABORTED';

export class SupervisorError extends Error {
  override readonly name = 'SupervisorError';
  constructor(
    readonly code: SupervisorErrorCode,
    /** The child's name (`ledger`, an MSP ID). */
    readonly child: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
