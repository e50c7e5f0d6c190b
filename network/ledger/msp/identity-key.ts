/**
 * How many of a serialized identity's last bytes key a cache of it: a certificate's signature, in DER or in the
 * base64 before a PEM footer (26 bytes), so different for every certificate.
 */
const IDENTITY_KEY_BYTES = 64;

/**
 * A cache key of a serialized identity (or its certificate's PEM): its last bytes as a one-byte string, not copied
 * first. A key of the whole ≈ 850 bytes cost every lookup a string that size and its hash (ChannelMsps.validate
 * 1.2 µs against 0.28 µs, bench/RESULTS.md ledger12). Two identities may share a key: an entry found by it is used
 * only when its own copy of the bytes is equal, and the two take turns.
 */
export function identityCacheKey(bytes: Uint8Array): string {
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.toString('latin1', Math.max(0, view.length - IDENTITY_KEY_BYTES));
}
