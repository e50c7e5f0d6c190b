/** Why an audit could not run (as opposed to what it found, which are verdicts): callers branch on `code`. */
export type AuditErrorCode =
  /** The query names a bad subject, institution or time; `field` names it. */
  | 'INVALID_QUERY'
  /** The regulator's node configuration or keys cannot be used (no p2p key, not a regulator). */
  | 'INVALID_CONFIG'
  /** The chain could not be read. */
  | 'CHAIN_UNAVAILABLE'
  /**
   * The audit was stopped (its time ran out, its caller left) before every institution's node had answered: no
   * verdict is given, as the accesses of every institution not yet heard would be NOT_HEARD. Narrow the query.
   */
  | 'INCOMPLETE';

export class AuditError extends Error {
  override readonly name = 'AuditError';
  readonly code: AuditErrorCode;
  readonly field: string | undefined;

  constructor(code: AuditErrorCode, message: string, options?: ErrorOptions & { readonly field?: string }) {
    super(message, options);
    this.code = code;
    this.field = options?.field;
  }
}
