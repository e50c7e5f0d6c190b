/** Bounds of the p2p layer and the report exchange: what one slow or hostile peer may hold (DESIGN §7). */

/** The report exchange's libp2p protocol ID. */
export const EXCHANGE_PROTOCOL = '/lianxin/report/1.0.0';

/**
 * Inbound connections a host accepts per second from one IP. libp2p's default of 5 refuses nodes that share a
 * machine (every demo and test node dials from 127.0.0.1); the gater still refuses unregistered peers.
 */
export const DEFAULT_INBOUND_CONNECTION_THRESHOLD = 1_000;
/** Connections of all peers together: a consortium has tens of nodes, each needing one connection. */
export const DEFAULT_MAX_CONNECTIONS = 256;
/** Connections still in the Noise handshake: an unregistered peer is cut when its peer ID is known. */
export const DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS = 32;
/** Exchanges a provider serves at once per connection, and a requester runs at once per connection. */
export const DEFAULT_MAX_INBOUND_STREAMS = 256;
export const DEFAULT_MAX_OUTBOUND_STREAMS = 256;

/** Largest exchange message (a request, a receipt, one report chunk), length prefix excluded. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Report content is streamed in chunks of this size. */
export const REPORT_CHUNK_BYTES = 256 * 1024;
/** Largest whole report a requester accepts (the sum of its chunks). */
export const DEFAULT_MAX_REPORT_BYTES = 64 * 1024 * 1024;
/** Time allowed for each message of an exchange to arrive: a peer that stops mid-stream is cut after this. */
export const DEFAULT_MESSAGE_TIMEOUT_MS = 10_000;
/** Time allowed for a whole exchange on either side. */
export const DEFAULT_EXCHANGE_TIMEOUT_MS = 60_000;
/**
 * How often a host checks that each of its connections still answers (connection-liveness.ts: a yamux ping frame
 * per connection and interval), and how long an answer may take before the connection is cut. A peer whose process
 * ends closes or resets its connections at once; this is for a peer that vanished without a word (its host down, a
 * network partition), so that the next exchange dials afresh rather than waiting on a dead connection: such a
 * connection is cut within interval + timeout (70 s). libp2p's default of a ping stream every 10 s per connection
 * and side (opened, negotiated, written and closed each time: ≈ 20 Noise frames) was a third of an idle node's CPU.
 */
export const DEFAULT_LIVENESS_INTERVAL_MS = 60_000;
export const DEFAULT_LIVENESS_TIMEOUT_MS = 10_000;
/** Connection upgrade (Noise, Yamux) must finish within this. */
export const INBOUND_UPGRADE_TIMEOUT_MS = 5_000;

/** Longest a request may be valid for (expires-at minus issued-at): requests are short-lived by design. */
export const MAX_REQUEST_LIFETIME_MS = 5 * 60_000;
/** Clock skew allowed between requester and provider for issued-at in the future. */
export const MAX_CLOCK_SKEW_MS = 30_000;
/** Record kinds one request may name. */
export const MAX_REQUEST_KINDS = 32;

/** The regulator's bundle-fetch protocol ID (proto/lianxin/v1/audit.proto). */
export const AUDIT_PROTOCOL = '/lianxin/audit/1.0.0';
/** Receipt digests one bundle fetch may ask for (the chain lists receipts in pages of up to 100). */
export const MAX_AUDIT_DIGESTS = 100;
/** Largest bundle-fetch message: 100 bundles of three envelopes each, with room to spare. */
export const MAX_AUDIT_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * How long an identity switch (p2p key rotation) waits for the exchanges in flight to finish before it stops the
 * libp2p host under them: a little more than one message's timeout, so that a live exchange rarely is cut.
 */
export const IDENTITY_SWITCH_DRAIN_MS = 15_000;
