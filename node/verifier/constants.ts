/** Formats and limits of attestations and trust bundles. Version strings are part of the signed bytes. */

/** `Attestation.format` the node issues (proofs.proto): one signature per batch of answers. */
export const ATTESTATION_FORMAT = 'lianxin-attestation/v2';

/** `Attestation.format` of single-signature attestations, issued before v2: they keep verifying. */
export const ATTESTATION_FORMAT_V1 = 'lianxin-attestation/v1';

/** Domain separation of the v1 node signature: it signs this prefix ‖ SHA-256(serialized unsigned Attestation). */
export const ATTESTATION_SIGNATURE_CONTEXT = `${ATTESTATION_FORMAT_V1}\n`;

/** Domain separation of the v2 batch signature: it signs this prefix ‖ uint64 size ‖ batch root. */
export const ATTESTATION_BATCH_SIGNATURE_CONTEXT = 'lianxin-attestation-batch/v2\n';

/** Attestations one batch signature may cover: paths stay ≤ 16 hashes, and a batch ≤ a few MiB of answers. */
export const MAX_ATTESTATION_BATCH = 65_536;

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

/** v2 batch signatures checked per trust bundle that are remembered (a batch's attestations share one). */
export const BATCH_SIGNATURE_MEMO_SIZE = 4096;
