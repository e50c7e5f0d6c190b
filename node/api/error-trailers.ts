/**
 * Trailing metadata keys the node sets on errors; clients read them rather than parse messages. Apart from
 * errors.ts (which maps every domain's errors and so imports the ledger, the store and p2p) so that a client,
 * the `lianxin` CLI, reads them without loading the node.
 */
export const RETRY_AFTER_MS_KEY = 'retry-after-ms';
export const ERROR_CODE_KEY = 'lianxin-error-code';
export const ERROR_FIELD_KEY = 'lianxin-error-field';
/** On a report exchange the provider refused: its signed reason code (NO_CONSENT, REPLAY, ...). */
export const REFUSAL_REASON_KEY = 'lianxin-refusal-reason';
