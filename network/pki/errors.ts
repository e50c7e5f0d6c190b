export type PkiErrorCode =
  /** The consortium file could not be read. */
  | 'CONFIG_UNREADABLE'
  /** The consortium file is not well-formed YAML. */
  | 'CONFIG_SYNTAX'
  /** The consortium file is YAML but a field is missing, unknown or out of range; `field` names it. */
  | 'CONFIG_INVALID'
  /** Existing material on disk does not fit together (half a key pair, a leaf from another CA, a changed copy). */
  | 'MATERIAL_INCONSISTENT'
  /** An MSP folder lacks a file the loader needs. */
  | 'MATERIAL_MISSING'
  /** A PEM file holds no usable certificate or key. */
  | 'BAD_MATERIAL'
  /** A private key's file is open to other users (its mode), refused as the node's own key files are. */
  | 'KEY_EXPOSED'
  /**
   * A member's own certificate is not issued by one of its roots, expired or not yet valid, or (an identity) carries
   * no NodeOU or several where its MSP enables them.
   */
  | 'CERTIFICATE_REFUSED'
  /** An MSP folder uses what this PKI does not support yet (intermediate CAs). */
  | 'MATERIAL_UNSUPPORTED';

/** A failure of the consortium PKI; callers branch on `code`, and on `field` for configuration errors. */
export class PkiError extends Error {
  override readonly name = 'PkiError';
  constructor(
    readonly code: PkiErrorCode,
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
