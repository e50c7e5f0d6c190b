export type NodeConfigErrorCode =
  /** The configuration file could not be read. */
  | 'CONFIG_UNREADABLE'
  /** The file is not well-formed YAML. */
  | 'CONFIG_SYNTAX'
  /** A field (or an environment override) is missing, unknown, malformed or out of range; `field` names it. */
  | 'CONFIG_INVALID'
  /** A file or directory the configuration names does not exist or cannot be read; `field` names the field. */
  | 'CONFIG_FILE_MISSING';

/** One problem of a configuration: the field (or environment variable) and a message that names it. */
export interface ConfigIssue {
  readonly field: string;
  readonly message: string;
}

/** A configuration the node refuses to start with. Callers branch on `code` and `field`, never on the message. */
export class NodeConfigError extends Error {
  override readonly name = 'NodeConfigError';
  constructor(
    readonly code: NodeConfigErrorCode,
    message: string,
    /** Dotted path of the field (`ledger.address`), or the environment variable for an unknown override. */
    readonly field?: string,
    options?: ErrorOptions & { readonly issues?: readonly ConfigIssue[] },
  ) {
    super(message, options);
    this.issues = options?.issues ?? (field === undefined ? [] : [{ field, message }]);
  }

  /** Every problem found (`CONFIG_INVALID` names them all at once), in the order of the fields. */
  readonly issues: readonly ConfigIssue[];
}
