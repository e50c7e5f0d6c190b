/**
 * How a `lianxin` command fails. Every failure is one line on stderr naming what went wrong; the process exit
 * code says whose fault it was: 2 for a wrong command line (`USAGE`), 3 for a check a party did not answer
 * (`NOT_HEARD`: neither passed nor failed), 1 for everything else.
 */
export type CliErrorCode =
  /** Unknown command or option, a missing or malformed argument. */
  | 'USAGE'
  /** An input file (records, attestation, trust bundle) is malformed; `location` says where. */
  | 'INVALID_INPUT'
  /** A file could not be read or written. */
  | 'FILE_ERROR'
  /** The consortium file or crypto material does not give what the command needs. */
  | 'CONFIGURATION'
  /** The node refused a call or could not be reached. */
  | 'NODE_ERROR'
  /** What answered at the address is no lianxin node (the ledger's gateway, or another gRPC server). */
  | 'WRONG_ENDPOINT'
  /** The node asked does not hold the record; its answer names the institution's log that does. */
  | 'HELD_ELSEWHERE'
  /** The ledger refused a query or could not be reached. */
  | 'LEDGER_ERROR'
  /** An attestation did not verify. */
  | 'VERIFICATION_FAILED'
  /** A check could not be finished: a party it needed did not answer (`lianxin audit`: an institution not heard). */
  | 'NOT_HEARD'
  /** An attestation verified but is about another artifact or issuer than the one in hand (`verify --artifact`). */
  | 'MISMATCH';

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** The process exit code (sysexits-style split: usage errors apart from failures). */
  get exitCode(): 1 | 2 | 3 {
    return this.code === 'USAGE' ? 2 : this.code === 'NOT_HEARD' ? 3 : 1;
  }
}

/** A failure that has already been reported in its own line (by the node daemon): exit 1, nothing more to say. */
export class AlreadyReported extends Error {
  override readonly name = 'AlreadyReported';
}

/** `err`'s message, for wrapping an error of another layer into a one-line reason. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a file could not be read or written, in a few words (`no such file`), from a Node.js system error. */
export function fileErrorReason(err: unknown): string {
  switch ((err as { code?: unknown } | undefined)?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a folder on its path is a file';
    default:
      return messageOf(err);
  }
}
