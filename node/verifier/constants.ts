/** Formats and limits of attestations and trust bundles. Version strings are part of the signed bytes. */

/** `Attestation.format` of this version (proofs.proto). */
export const ATTESTATION_FORMAT = 'lianxin-attestation/v1';

/** Domain separation of the node signature: it signs this prefix ‖ SHA-256(serialized unsigned Attestation). */
export const ATTESTATION_SIGNATURE_CONTEXT = `${ATTESTATION_FORMAT}\n`;

/** `TrustBundleJson.format` of this version. */
export const TRUST_BUNDLE_FORMAT = 'lianxin-trust-bundle/v1';

/** `LogLeaf.version` this verifier understands (evidence.proto). */
export const LOG_LEAF_VERSION = 1;

/** Attestations are a leaf, ≤ 64 hashes and a note: anything this large is refused before decoding. */
export const MAX_ATTESTATION_BYTES = 256 * 1024;

/** How far in the verifier's future an attestation's issue time may be (clock skew between machines). */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Checkpoint signatures verified per trust bundle that are remembered (many attestations share a checkpoint). */
export const CHECKPOINT_MEMO_SIZE = 4096;
