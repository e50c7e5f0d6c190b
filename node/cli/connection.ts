/**
 * How the CLI reaches an institution's node: host:port, the CA of the node's TLS certificate, the client's TLS
 * certificate for mutual TLS (the node authorizes by it) and the name the server certificate is issued for.
 * Given explicitly, or filled from the consortium material: `--crypto-dir` + `--msp` [+ `--user`] take the
 * user's `tls/` folder (ca.crt, client.crt, client.key) and that organisation's node from the consortium YAML
 * (127.0.0.1:<grpc port>, its host alias as server name). Flags win over environment variables.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ERROR_CODE_KEY, ERROR_FIELD_KEY, lianxinV1, type LianxinServiceName, type LianxinV1 } from '../api/index.ts';
import { loadConsortium, orgPaths, type Consortium, type OrgNode } from '../../network/pki/index.ts';
import { CliError, fileErrorReason, messageOf } from './errors.ts';

/** The connection options every node command accepts. */
export const NODE_OPTIONS = {
  node: { type: 'string' },
  'tls-ca': { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'server-name': { type: 'string' },
  'crypto-dir': { type: 'string' },
  msp: { type: 'string' },
  user: { type: 'string' },
  consortium: { type: 'string' },
} as const;

export const DEFAULT_CONSORTIUM_FILE = 'network/consortium.yaml';

export const NODE_OPTIONS_USAGE = `
connection (flags override the environment):
  --node host:port        the node's gRPC address (env LIANXIN_NODE)
  --tls-ca file           PEM of the CA that issued the node's TLS certificate
  --cert file --key file  TLS client certificate and key (mutual TLS: the node authorizes by it)
  --server-name name      the host name in the node's TLS certificate, when it differs from --node's host
  --crypto-dir dir        consortium crypto material (env LIANXIN_CRYPTO_DIR); with --msp it fills the above
  --msp MSP               your organisation (env LIANXIN_MSP): its node and the --user's tls/ folder
  --user name             user under the organisation (default User1, env LIANXIN_USER)
  --consortium file       consortium YAML for the node's address and name (default ${DEFAULT_CONSORTIUM_FILE},
                          env LIANXIN_CONSORTIUM)`;

export type ConnectionValues = Partial<Record<keyof typeof NODE_OPTIONS, string>>;

export interface NodeEndpoint {
  /** host:port. */
  readonly address: string;
  readonly caPem: Buffer;
  readonly clientTls?: { readonly certPem: Buffer; readonly keyPem: Buffer };
  /** The name to check the server certificate against, when it is not the host of `address`. */
  readonly serverName?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Who the CLI acts as, from `--crypto-dir`, `--msp` and `--user` or their environment variables. */
export interface ConsortiumMember {
  readonly cryptoDir: string;
  readonly mspId: string;
  readonly user: string;
  readonly consortiumFile: string;
}

/** The member named by flags or environment; undefined when no MSP is named. */
export function consortiumMember(values: ConnectionValues, env: Env): ConsortiumMember | undefined {
  const mspId = values.msp ?? env.LIANXIN_MSP;
  if (mspId === undefined) return undefined;
  const cryptoDir = values['crypto-dir'] ?? env.LIANXIN_CRYPTO_DIR;
  if (cryptoDir === undefined) throw new CliError('USAGE', '--msp needs --crypto-dir (or LIANXIN_CRYPTO_DIR)');
  return {
    cryptoDir,
    mspId,
    user: values.user ?? env.LIANXIN_USER ?? 'User1',
    consortiumFile: values.consortium ?? env.LIANXIN_CONSORTIUM ?? DEFAULT_CONSORTIUM_FILE,
  };
}

/**
 * Resolves and reads the connection material.
 * @throws CliError `USAGE` when something needed is not given, `FILE_ERROR` or `CONFIGURATION` when it cannot
 * be read.
 */
export async function resolveNodeEndpoint(values: ConnectionValues, env: Env): Promise<NodeEndpoint> {
  const member = consortiumMember(values, env);
  const tls = member && orgPaths(member.cryptoDir, member.mspId).user(member.user).tls;
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new CliError('USAGE', '--cert and --key go together');
  }
  const certFile = values.cert ?? tls?.cert;
  const keyFile = values.key ?? tls?.key;
  let address = values.node ?? env.LIANXIN_NODE;
  let serverName = values['server-name'];
  const consortium = member && (await readConsortium(member.consortiumFile));
  if (member !== undefined && consortium !== undefined && address === undefined) {
    // No node named: the member's own organisation's node, by the name in its TLS certificate.
    const node = institutionNode(consortium, member.mspId);
    address = `127.0.0.1:${node.ports.grpc}`;
    serverName ??= node.host;
  }
  if (address === undefined)
    throw new CliError('USAGE', 'no node to call: give --node host:port, or --msp with --crypto-dir');
  checkAddress('--node', address);
  // A node dialled by IP is checked against the name in its certificate, when the consortium's file places a node
  // at that port: TLS has no server names that are IP addresses (RFC 6066; Node warns on every connection).
  if (serverName === undefined && consortium !== undefined && isIP(hostOf(address)) !== 0) {
    serverName = nodeAtPort(consortium, Number(address.slice(address.lastIndexOf(':') + 1)))?.host;
  }
  // Any member's node may be called: trust every member's TLS CA, as the nodes themselves do.
  const caFiles =
    values['tls-ca'] !== undefined
      ? [values['tls-ca']]
      : member && consortium?.organizations.map((o) => orgPaths(member.cryptoDir, o.mspId).msp.tlscacert);
  if (caFiles === undefined) throw new CliError('USAGE', 'no TLS CA: give --tls-ca, or --msp with --crypto-dir');
  const [caPem, certPem, keyPem] = await Promise.all([
    Promise.all(caFiles.map((file) => readPem('TLS CA', file))).then((pems) => Buffer.concat(pems)),
    certFile === undefined ? undefined : readPem('TLS client certificate', certFile),
    keyFile === undefined ? undefined : readPem('TLS client key', keyFile),
  ]);
  return {
    address,
    caPem,
    ...(certPem && keyPem ? { clientTls: { certPem, keyPem } } : {}),
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

/** The organisation's first institution node (the operator's ledger peer is not one: it has no p2p port). */
/** The consortium's institution node listening on `port`, if any (local networks: one host, a port each). */
function nodeAtPort(consortium: Consortium, port: number): OrgNode | undefined {
  return consortium.organizations
    .flatMap((o) => o.nodes)
    .find((n) => n.type === 'peer' && n.ports.p2p !== undefined && n.ports.grpc === port);
}

const hostOf = (address: string): string => address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');

function institutionNode(consortium: Consortium, mspId: string): OrgNode {
  const org = consortium.organizations.find((o) => o.mspId === mspId);
  if (org === undefined) throw new CliError('CONFIGURATION', `the consortium has no organisation ${mspId}`);
  const node = org.nodes.find((n) => n.type === 'peer' && n.ports.p2p !== undefined);
  if (node === undefined) {
    throw new CliError('CONFIGURATION', `${mspId} runs no institution node: give --node and --server-name`);
  }
  return node;
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
  const Client = lianxinV1()[service] as unknown as new (
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
 * A callback-style unary call as a promise, with a deadline; a failure becomes CliError `NODE_ERROR`.
 * @example const info = await unary<NodeInfo__Output>('GetNodeInfo', (options, cb) => client.GetNodeInfo({}, options, cb));
 */
export function unary<T>(
  method: string,
  start: (options: grpc.CallOptions, callback: grpc.requestCallback<T>) => unknown,
): Promise<T> {
  return new Promise((resolve, reject) => {
    start({ deadline: Date.now() + CALL_TIMEOUT_MS }, (err, value) => {
      if (err) reject(nodeCallError(method, err));
      else if (value === undefined) reject(new CliError('NODE_ERROR', `${method}: the node sent no answer`));
      else resolve(value);
    });
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
  values: ConnectionValues,
  env: Env,
  service: N,
  use: (client: InstanceType<LianxinV1[N]>) => Promise<T>,
): Promise<T> {
  const client = nodeClient(await resolveNodeEndpoint(values, env), service);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}
