/**
 * The JSON the explorer's data API answers and its pages read: one set of types for the node's routes, the
 * standalone `npm run explorer` server and the browser pages (which import them as types only). Every view is
 * built from the chain's registry, the chain index and the node's log metadata; none carries a record's content,
 * a report, or anything else the consortium keeps confidential.
 */

/** A registered signing key, without its public key bytes (the trust bundle export carries those). */
export interface KeyView {
  readonly kid: string;
  readonly role: string;
  readonly status: string;
  /** RFC 3339. */
  readonly validFrom: string;
  /** RFC 3339; null: open-ended. */
  readonly validUntil: string | null;
}

export interface NodeView {
  readonly nodeId: string;
  readonly origin: string;
  readonly endpoint: string;
  /** The origin's latest anchored checkpoint, when it has one. */
  readonly checkpoint: CheckpointView | null;
}

export interface CheckpointView {
  readonly size: number;
  readonly anchoredAt: string;
  readonly txId: string;
}

export interface InstitutionView {
  readonly mspId: string;
  readonly name: string;
  readonly city: string;
  readonly role: string;
  readonly status: string;
  readonly nodes: readonly NodeView[];
  readonly keys: readonly KeyView[];
}

/** One point of a log's anchoring history: `size` records anchored by `anchoredAt`. */
export interface AnchorPoint {
  readonly anchoredAt: string;
  readonly size: number;
}

export interface ConsortiumView {
  /** RFC 3339: the time ages are counted to. */
  readonly generatedAt: string;
  /** The node that answered (its MSP ID). */
  readonly servedBy: string;
  readonly institutions: readonly InstitutionView[];
  /**
   * Records anchored over time, per log origin, as this node's chain index has applied them: at the chart's
   * resolution (the last anchor of each of at most 720 time slices, anchoring.ts), not every anchor; times clamped
   * into the 7 days before `generatedAt` (an anchor's time is its submitter's clock, which the chain does not bound).
   */
  readonly anchoring: Readonly<Record<string, readonly AnchorPoint[]>>;
}

/**
 * Where a subject and kind's evidence stands. The public sees whether a record of the kind is anchored and on which
 * day, nothing more: not which institution holds it (a list of USCCs would map lending relationships), its version,
 * its position, or whether this node holds it.
 */
export interface RecordView {
  readonly subject: string;
  readonly kind: string;
  /**
   * The day (UTC, YYYY-MM-DD) the chain's index last saw a record of the subject and kind anchored, by any
   * institution; null when none is. A day, not the time: the consortium page shows each log's anchors to the second,
   * and a time matched against them would name the institution.
   */
  readonly anchoredOn: string | null;
  /** The evidence in detail: members only (null for the public). */
  readonly detail: RecordDetailView | null;
}

/** Where a record's evidence stands in detail, for consortium members. */
export interface RecordDetailView {
  /** The chain's index entry (any institution's latest anchored leaf), or null when nothing is anchored. */
  readonly chain: {
    readonly origin: string;
    readonly version: number;
    readonly leafIndex: number;
    readonly leafHash: string;
    /** SHA-256 of the record's content. */
    readonly recordDigest: string;
    readonly checkpointSize: number;
    readonly txId: string;
    readonly blockNumber: string;
    readonly anchoredAt: string;
  } | null;
  /**
   * This node's own copy, when it holds the record: where it is in the node's log. `stage` is `anchored` once an
   * anchored checkpoint covers the leaf, `checkpointed` once a signed one does, else `logged`.
   */
  readonly local: {
    readonly version: number;
    readonly leafIndex: number;
    readonly recordDigest: string;
    readonly stage: 'logged' | 'checkpointed' | 'anchored';
  } | null;
  /** Whether the viewer can download the record's attestation here: this node holds it and the viewer may attest. */
  readonly attestable: boolean;
}

export interface AccessView {
  readonly receiptDigest: string;
  readonly requester: string;
  readonly provider: string;
  readonly subject: string;
  readonly purpose: string;
  readonly consentId: string;
  /** RFC 3339: when the access happened, as the receipt says. */
  readonly accessedAt: string;
  readonly txId: string;
  /** `OK`, or the first problem's code (node/audit AuditVerdictCode). */
  readonly verdict: string;
  readonly findings: readonly { readonly code: string; readonly reason: string; readonly field?: string }[];
  readonly bundleFrom: string | null;
}

export interface AuditView {
  readonly generatedAt: string;
  readonly accesses: readonly AccessView[];
}

/** Every error answer of the data API. */
export interface ErrorView {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}
