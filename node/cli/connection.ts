/**
 * How the CLI reaches an institution's node: host:port, the CA of the node's TLS certificate, the client's TLS
 * certificate for mutual TLS (the node authorizes by it) and the name the server certificate is issued for.
 * Given explicitly, or filled from the consortium material: `--crypto-dir` + `--msp` [+ `--user`] take the
 * user's `tls/` folder (ca.crt, client.crt, client.key) and that organisation's node from the consortium YAML
 * (127.0.0.1:<grpc port>, its host alias as server name). Where each setting comes from: settings.ts.
 * A call the server does not implement is told apart: a Fabric Gateway (the ledger) or something else that is
 * no lianxin node, so a wrong --node gets an answer that says what was dialled.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
// The client's parts of node/api and network/pki, not their indexes: those bring the node's server (its error
// mapping: the ledger, the store, p2p) and the certificate issuer, ≈1 s of CPU that every command paid.
import { lianxinClientV1 } from '../api/client-package.ts';
import { ERROR_CODE_KEY, ERROR_FIELD_KEY } from '../api/error-trailers.ts';
import type { LianxinServiceName, LianxinV1 } from '../api/proto-files.ts';
import { institutionNode, loadConsortium, type Consortium, type OrgNode } from '../../network/pki/consortium-config.ts';
import { PkiError } from '../../network/pki/errors.ts';
import { loadTlsKeyPair, type TlsKeyPair } from '../../network/pki/identity-loader.ts';
import { orgPaths } from '../../network/pki/msp-paths.ts';
import { CliError, fileErrorReason, messageOf } from './errors.ts';
import { DEFAULT_CONSORTIUM_FILE, sourceNote, type Setting, type Settings } from './settings.ts';
import { splitHostPort } from '../../network/host-port.ts';

export interface NodeEndpoint {
  /** host:port. */
  readonly address: string;
  readonly caPem: Buffer;
  readonly clientTls?: { readonly certPem: Buffer; readonly keyPem: Buffer };
  /** The name to check the server certificate against, when it is not the host of `address`. */
  readonly serverName?: string;
}

/** Who the CLI acts as, from `--crypto-dir`, `--msp` and `--user` (or their variables or profile). */
export interface ConsortiumMember {
  readonly cryptoDir: string;
  readonly mspId: string;
  readonly user: string;
  readonly consortiumFile: string;
  /** Where the MSP ID came from, for the message when the consortium has no such organisation. */
  readonly mspSource: Setting;
}

/**
 * The member named by the settings; undefined when no MSP is named.
 * @throws CliError `USAGE` when an MSP is named without the crypto material to act as it.
 */
export function consortiumMember(settings: Settings): ConsortiumMember | undefined {
  const msp = settings.msp;
  if (msp === undefined) return undefined;
  const cryptoDir = settings['crypto-dir']?.value;
  if (cryptoDir === undefined) {
    throw new CliError('USAGE', `--msp${sourceNote(msp)} needs --crypto-dir (or LIANXIN_CRYPTO_DIR)`);
  }
  return {
    cryptoDir,
    mspId: msp.value,
    user: settings.user?.value ?? 'User1',
    consortiumFile: settings.consortium?.value ?? DEFAULT_CONSORTIUM_FILE,
    mspSource: msp,
  };
}

/**
 * The consortium file of `member`, checked to have the member's organisation.
 * @throws CliError `CONFIGURATION` when it cannot be read, or listing the valid MSP IDs when the MSP is unknown.
 */
export async function memberConsortium(
  member: Pick<ConsortiumMember, 'consortiumFile' | 'mspId' | 'mspSource'>,
): Promise<Consortium> {
  const consortium = await readConsortium(member.consortiumFile);
  if (!consortium.organizations.some((o) => o.mspId === member.mspId)) {
    throw new CliError(
      'CONFIGURATION',
      `unknown MSP ${JSON.stringify(member.mspId)}${sourceNote(member.mspSource)}: the consortium ` +
        `(${member.consortiumFile}) has ${consortium.organizations.map((o) => o.mspId).join(', ')}`,
    );
  }
  return consortium;
}

/**
 * Resolves and reads the connection material.
 * @throws CliError `USAGE` when something needed is not given, `FILE_ERROR` or `CONFIGURATION` when it cannot
 * be read.
 */
export async function resolveNodeEndpoint(settings: Settings): Promise<NodeEndpoint> {
  const explicit = settings.node !== undefined && settings['tls-ca'] !== undefined;
  // A shell set up for Fabric's peer CLI has CORE_PEER_LOCALMSPID: with everything given, it is not needed.
  const member = explicit && settings['crypto-dir'] === undefined ? undefined : consortiumMember(settings);
  const tls = member && orgPaths(member.cryptoDir, member.mspId).user(member.user).tls;
  if ((settings.cert === undefined) !== (settings.key === undefined)) {
    throw new CliError('USAGE', '--cert and --key go together');
  }
  const certFile = settings.cert?.value ?? tls?.cert;
  const keyFile = settings.key?.value ?? tls?.key;
  let address = settings.node?.value;
  let serverName = settings['server-name']?.value;
  const consortium = member && (await memberConsortium(member));
  if (member !== undefined && consortium !== undefined && address === undefined) {
    // No node named: the member's own organisation's node, by the name in its TLS certificate.
    const node = memberNode(consortium, member.mspId);
    address = `127.0.0.1:${node.ports.grpc}`;
    serverName ??= node.host;
  }
  if (address === undefined)
    throw new CliError('USAGE', 'no node to call: give --node host:port, or --msp with --crypto-dir');
  checkAddress(`--node${settings.node ? sourceNote(settings.node) : ''}`, address);
  // A node dialled by IP is checked against the name in its certificate, when the consortium's file places a node
  // at that port: TLS has no server names that are IP addresses (RFC 6066; Node warns on every connection).
  if (serverName === undefined && consortium !== undefined && isIP(splitHostPort(address).host) !== 0) {
    serverName = nodeAtPort(consortium, Number(address.slice(address.lastIndexOf(':') + 1)))?.host;
  }
  // Any member's node may be called: trust every member's TLS CA, as the nodes themselves do.
  const caFiles =
    settings['tls-ca'] !== undefined
      ? [settings['tls-ca'].value]
      : member && consortium?.organizations.map((o) => orgPaths(member.cryptoDir, o.mspId).msp.tlscacert);
  if (caFiles === undefined) throw new CliError('USAGE', 'no TLS CA: give --tls-ca, or --msp with --crypto-dir');
  const [caPem, clientTls] = await Promise.all([
    Promise.all(caFiles.map((file) => readPem('TLS CA', file))).then((pems) => Buffer.concat(pems)),
    certFile === undefined || keyFile === undefined ? undefined : readTlsClientPair({ cert: certFile, key: keyFile }),
  ]);
  return {
    address,
    caPem,
    ...(clientTls && {
      clientTls: { certPem: Buffer.from(clientTls.certPem), keyPem: Buffer.from(clientTls.keyPem) },
    }),
    ...(serverName === undefined ? {} : { serverName }),
  };
}

/** host:port, with a bracketed IPv6 host allowed. */
export function checkAddress(flag: string, address: string): void {
  if (!/^(?:\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):[0-9]{1,5}$/.test(address)) {
    throw new CliError('USAGE', `${flag} must be host:port, got ${JSON.stringify(address)}`);
  }
}

export async function readConsortium(file: string): Promise<Consortium> {
  try {
    return await loadConsortium(file);
  } catch (err) {
    throw new CliError('CONFIGURATION', messageOf(err), { cause: err });
  }
}

/**
 * The consortium's node listening on `port`, if any (local networks: one host, a port each). The ledger peer
 * counts too: dialled as a node by mistake, its certificate still checks and the answer says what it is.
 */
function nodeAtPort(consortium: Consortium, port: number): OrgNode | undefined {
  return consortium.organizations.flatMap((o) => o.nodes).find((n) => n.type === 'peer' && n.ports.grpc === port);
}

/** The organisation's institution node (the consortium's rule: the operator's ledger peer is not one). */
function memberNode(consortium: Consortium, mspId: string): OrgNode {
  const org = consortium.organizations.find((o) => o.mspId === mspId);
  if (org === undefined) throw new CliError('CONFIGURATION', `the consortium has no organisation ${mspId}`);
  const node = institutionNode(org);
  if (node === undefined) {
    throw new CliError('CONFIGURATION', `${mspId} runs no institution node: give --node and --server-name`);
  }
  return node;
}

/**
 * A user's TLS client pair, read by the key file rules (its owner's alone, one key, the certificate's): read as
 * plain files, a world-readable key was sent and a key of another certificate failed in OpenSSL naming neither file.
 * @throws CliError `FILE_ERROR` for a missing file, else `CONFIGURATION` (the PKI's message naming the file).
 */
export async function readTlsClientPair(tls: { readonly cert: string; readonly key: string }): Promise<TlsKeyPair> {
  try {
    return await loadTlsKeyPair(tls.cert, tls.key);
  } catch (err) {
    if (err instanceof PkiError && err.code === 'MATERIAL_MISSING') {
      throw new CliError('FILE_ERROR', `cannot read ${err.field ?? tls.cert}: no such file`, { cause: err });
    }
    throw new CliError('CONFIGURATION', messageOf(err), { cause: err });
  }
}

async function readPem(what: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read the ${what} ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
}

/** Ingest batches can be several MiB; proofs and attestations are small. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** A client of one lianxin.v1 service of the node. Close it when done. */
export function nodeClient<N extends LianxinServiceName>(
  endpoint: NodeEndpoint,
  service: N,
): InstanceType<LianxinV1[N]> {
  const credentials = grpc.credentials.createSsl(
    endpoint.caPem,
    endpoint.clientTls?.keyPem ?? null,
    endpoint.clientTls?.certPem ?? null,
  );
  const Client = lianxinClientV1()[service] as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options: grpc.ChannelOptions,
  ) => InstanceType<LianxinV1[N]>;
  return new Client(endpoint.address, credentials, {
    ...(endpoint.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': endpoint.serverName }),
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
}

/** How long a unary call may take before the CLI gives up on it. */
export const CALL_TIMEOUT_MS = 30_000;

/**
 * A callback-style unary call as a promise, with a deadline; a failure becomes CliError `NODE_ERROR`. A call the
 * server does not implement asks the server what it is (endpointMismatch) before failing.
 * @example const info = await unary<NodeInfo__Output>('GetNodeInfo', (options, cb) => client.GetNodeInfo({}, options, cb), client);
 */
export function unary<T>(
  method: string,
  start: (options: grpc.CallOptions, callback: grpc.requestCallback<T>) => unknown,
  client?: grpc.Client,
): Promise<T> {
  return new Promise((resolve, reject) => {
    start({ deadline: Date.now() + CALL_TIMEOUT_MS }, (err, value) => {
      if (err) {
        if (err.code === grpc.status.UNIMPLEMENTED && client !== undefined) {
          endpointMismatch(client, method, err).then(reject, reject);
        } else reject(nodeCallError(method, err));
      } else if (value === undefined) reject(new CliError('NODE_ERROR', `${method}: the node sent no answer`));
      else resolve(value);
    });
  });
}

/** A Fabric Gateway's unary method: any answer but UNIMPLEMENTED to an empty request means one is there. */
const GATEWAY_PROBE = '/gateway.Gateway/Evaluate';

/**
 * What answered instead of a lianxin node, for a call it did not implement: a Fabric Gateway (the ledger, or a
 * Fabric peer) answers an empty Evaluate with INVALID_ARGUMENT or a permission error, anything else with
 * UNIMPLEMENTED again.
 */
export function endpointMismatch(client: grpc.Client, method: string, err: grpc.ServiceError): Promise<CliError> {
  const address = client.getChannel().getTarget().replace(/^dns:/, '');
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      GATEWAY_PROBE,
      (b) => b,
      (b) => b,
      Buffer.alloc(0),
      { deadline: Date.now() + CALL_TIMEOUT_MS },
      (probeErr) => {
        if (probeErr?.code === grpc.status.UNIMPLEMENTED || probeErr?.code === grpc.status.UNAVAILABLE) {
          resolve(
            new CliError(
              'WRONG_ENDPOINT',
              `${method}: ${address} is not a lianxin node: it does not implement the lianxin.v1 API (${err.details})`,
              { cause: err },
            ),
          );
        } else {
          resolve(
            new CliError(
              'WRONG_ENDPOINT',
              `${method}: ${address} is a Fabric Gateway (the ledger), not a lianxin node: give the node's address`,
              { cause: err },
            ),
          );
        }
      },
    );
  });
}

/** `GetRecordStatus: NOT_FOUND (NOT_FOUND): no record … [field records[3].subject]`, from the node's trailers. */
export function nodeCallError(method: string, err: grpc.ServiceError): CliError {
  const trailer = (key: string) => {
    const value = err.metadata.get(key)[0];
    return typeof value === 'string' ? value : undefined;
  };
  const code = trailer(ERROR_CODE_KEY);
  const field = trailer(ERROR_FIELD_KEY);
  const status = grpc.status[err.code];
  const details = err.details === '' ? 'no details' : err.details;
  return new CliError(
    'NODE_ERROR',
    `${method} failed: ${status}${code === undefined || code === status ? '' : ` (${code})`}: ${details}${field === undefined ? '' : ` [field ${field}]`}`,
    { cause: err },
  );
}

/** Resolves the endpoint, opens a client of `service`, runs `use` and closes the client. */
export async function withNodeClient<N extends LianxinServiceName, T>(
  settings: Settings,
  service: N,
  use: (client: InstanceType<LianxinV1[N]>) => Promise<T>,
): Promise<T> {
  const client = nodeClient(await resolveNodeEndpoint(settings), service);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}
