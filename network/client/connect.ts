/**
 * Connecting the official @hyperledger/fabric-gateway client to a peer, embedded or Fabric: the one way the
 * project's code reaches a ledger. The client's default ECDSA signer is pure JS (~1.3k signatures/s, three per
 * submit); with `hash.none` and a node:crypto signer that normalises to low-S the bytes on the wire are the same
 * and the rate is ~20x (DESIGN §9).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, hash, type Gateway, type Signer } from '@hyperledger/fabric-gateway';
import { signP256 } from '../crypto/index.ts';

export interface LedgerEndpoint {
  /** host:port of the peer's gateway endpoint. */
  readonly address: string;
  /** PEM of the CA that issued the peer's TLS certificate. */
  readonly tlsRootCertPem: string;
  /** The name in the peer's TLS certificate, when it differs from the host dialled. */
  readonly hostAlias?: string;
  /** Client certificate and key for mutual TLS. */
  readonly clientTls?: { readonly certPem: string; readonly keyPem: string };
}

export interface ClientIdentity {
  readonly mspId: string;
  readonly certificatePem: string;
  readonly privateKey: KeyObject | string;
}

export interface LedgerConnection extends AsyncDisposable {
  readonly gateway: Gateway;
  readonly client: grpc.Client;
  close(): void;
}

/** A fabric-gateway Signer (used with `hash.none`): ECDSA P-256 over SHA-256(message), low-S, in OpenSSL. */
export function nodeCryptoSigner(privateKey: KeyObject | string): Signer {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return (message) => Promise.resolve(signP256(key, message));
}

/**
 * Keepalive pings as Fabric's own clients send them (internal/pkg/comm DefaultKeepaliveOptions: every minute, 20 s
 * for the answer; a peer refuses pings more often than its ServerMinInterval, a minute). A long-lived stream that
 * carries nothing for minutes (the chaincode events of a quiet chain) is otherwise cut by an idle timeout on the way
 * (an L4 load balancer's, ≈ 4–6 min), and a ledger gone without closing its connection is noticed.
 */
const KEEPALIVE = { 'grpc.keepalive_time_ms': 60_000, 'grpc.keepalive_timeout_ms': 20_000 } as const;

/** Per-call deadlines as the Fabric samples set them. */
const DEADLINES_MS = { evaluate: 5_000, endorse: 15_000, submit: 5_000, commitStatus: 60_000 } as const;

export function connectToLedger(endpoint: LedgerEndpoint, identity: ClientIdentity): LedgerConnection {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(endpoint.tlsRootCertPem),
    endpoint.clientTls ? Buffer.from(endpoint.clientTls.keyPem) : null,
    endpoint.clientTls ? Buffer.from(endpoint.clientTls.certPem) : null,
  );
  const client = new grpc.Client(endpoint.address, credentials, {
    ...(endpoint.hostAlias ? { 'grpc.ssl_target_name_override': endpoint.hostAlias } : {}),
    'grpc.max_receive_message_length': 100 * 1024 * 1024,
    'grpc.max_send_message_length': 100 * 1024 * 1024,
    ...KEEPALIVE,
  });
  const deadline = (ms: number) => () => ({ deadline: Date.now() + ms });
  const gateway = connect({
    client,
    identity: { mspId: identity.mspId, credentials: Buffer.from(identity.certificatePem) },
    signer: nodeCryptoSigner(identity.privateKey),
    hash: hash.none,
    evaluateOptions: deadline(DEADLINES_MS.evaluate),
    endorseOptions: deadline(DEADLINES_MS.endorse),
    submitOptions: deadline(DEADLINES_MS.submit),
    commitStatusOptions: deadline(DEADLINES_MS.commitStatus),
  });
  const close = (): void => {
    gateway.close();
    client.close();
  };
  return {
    gateway,
    client,
    close,
    [Symbol.asyncDispose]: () => {
      close();
      return Promise.resolve();
    },
  };
}
