/**
 * Chaincode as a service: the ledger dials the chaincode's gRPC server (`protos.Chaincode/Connect`) and speaks
 * the peer side of the shim protocol on that stream (reference §15.1, §15.3). A dropped stream is redialled on
 * the next invocation.
 */
import * as grpc from '@grpc/grpc-js';
import { peer } from '@hyperledger/fabric-protos';
import type { ChaincodeConnection, ChaincodeInvocation, SimulationResult, StateReader } from '../types.ts';
import { ChaincodeError } from './errors.ts';
import { PeerHandler } from './peer-handler.ts';

export interface ChaincodeServiceTls {
  /** PEM of the CA that issued the chaincode server's certificate. */
  readonly rootCert: string | Uint8Array;
  /** Client certificate and key (PEM) for mutual TLS (`--chaincode-tls-client-cacert-file` on the server). */
  readonly clientCert?: string | Uint8Array;
  readonly clientKey?: string | Uint8Array;
  /** Host name to check the server certificate against, when it differs from the address's host. */
  readonly serverNameOverride?: string;
}

export interface ChaincodeServiceOptions {
  /** Chaincode name: the namespace of its state. */
  readonly name: string;
  /** host:port of the chaincode server (`--chaincode-address`). */
  readonly address: string;
  readonly tls?: ChaincodeServiceTls;
  readonly executeTimeoutMs?: number;
  /** How long a dial may take until the chaincode has registered. Default 10 s. */
  readonly connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const bytes = (pem: string | Uint8Array): Buffer => Buffer.from(pem);

function credentialsOf(tls: ChaincodeServiceTls | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  if ((tls.clientCert === undefined) !== (tls.clientKey === undefined)) {
    throw new TypeError('chaincode service tls: clientCert and clientKey go together');
  }
  return grpc.credentials.createSsl(
    bytes(tls.rootCert),
    tls.clientKey === undefined ? null : bytes(tls.clientKey),
    tls.clientCert === undefined ? null : bytes(tls.clientCert),
  );
}

class ChaincodeServiceConnection implements ChaincodeConnection {
  readonly name: string;
  private readonly client: grpc.Client & peer.ChaincodeClient;
  private current:
    { handler: PeerHandler; call: grpc.ClientDuplexStream<peer.ChaincodeMessage, peer.ChaincodeMessage> } | undefined;
  private dialing: Promise<PeerHandler> | undefined;
  private closed = false;

  constructor(private readonly options: ChaincodeServiceOptions) {
    this.name = options.name;
    const channelOptions: grpc.ChannelOptions = {};
    if (options.tls?.serverNameOverride !== undefined) {
      channelOptions['grpc.ssl_target_name_override'] = options.tls.serverNameOverride;
      channelOptions['grpc.default_authority'] = options.tls.serverNameOverride;
    }
    this.client = new peer.ChaincodeClient(options.address, credentialsOf(options.tls), channelOptions);
  }

  async execute(
    invocation: ChaincodeInvocation,
    state: StateReader,
    options?: { signal?: AbortSignal },
  ): Promise<SimulationResult> {
    const handler = await this.connected();
    return handler.execute(invocation, state, options);
  }

  close(): Promise<void> {
    this.closed = true;
    this.current?.handler.close();
    this.current?.call.cancel();
    this.current = undefined;
    this.client.close();
    return Promise.resolve();
  }

  /** The live stream, or a new one when there is none or it dropped. Concurrent callers share one dial. */
  connected(): Promise<PeerHandler> {
    if (this.closed)
      return Promise.reject(new ChaincodeError('NOT_CONNECTED', `chaincode ${this.name}: connection is closed`));
    if (this.current !== undefined && !this.current.handler.closed) return Promise.resolve(this.current.handler);
    this.dialing ??= this.dial().finally(() => {
      this.dialing = undefined;
    });
    return this.dialing;
  }

  private async dial(): Promise<PeerHandler> {
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const call = this.client.connect({ deadline: Infinity });
    const handler = new PeerHandler(call, {
      chaincodeName: this.name,
      ...(this.options.executeTimeoutMs === undefined ? {} : { executeTimeoutMs: this.options.executeTimeoutMs }),
    });
    let dialError: unknown;
    call.on('error', (err) => {
      dialError = err;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        handler.ready,
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`no REGISTER within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
    } catch (err) {
      handler.close();
      call.cancel();
      throw new ChaincodeError('NOT_CONNECTED', `chaincode ${this.name} at ${this.options.address}: connect failed`, {
        cause: dialError ?? err,
      });
    } finally {
      clearTimeout(timer);
    }
    this.current = { handler, call };
    return handler;
  }
}

/** Dials the chaincode server and waits for it to register; later drops are redialled on demand. */
export async function connectChaincodeService(options: ChaincodeServiceOptions): Promise<ChaincodeConnection> {
  const connection = new ChaincodeServiceConnection(options);
  try {
    await connection.connected();
  } catch (err) {
    await connection.close();
    throw err;
  }
  return connection;
}
