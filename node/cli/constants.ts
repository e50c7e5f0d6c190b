/**
 * Defaults of the CLI's options, here rather than beside the code that uses them: a command's definition shows
 * them in its help, and defining a command must not load what running it does (command.ts).
 */

/** A batch of 1,000 records is durable in milliseconds; a minute without any acknowledgement is a stuck stream. */
export const DEFAULT_ACK_TIMEOUT_MS = 60_000;

/**
 * `lianxin ingest --uscc-mode`: the node's default (node/records DEFAULT_RECORD_RULES, which a test holds this to),
 * spelled here so that `--help` need not load the record validator.
 */
export const DEFAULT_USCC_MODE = 'strict';
