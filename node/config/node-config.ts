/**
 * The node's configuration: one YAML file (fields in `config-fields.ts`) plus `LIANXIN_*` environment
 * overrides, read and validated once when the node starts: each field's value by its zod schema and the
 * document's shape by a strict one (config-schema.ts), every problem collected and named by field (and by the
 * variable, for an override). Everything downstream trusts the returned types.
 */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { OrgRole } from '../../network/pki/index.ts';
import { parseYamlWithLines, type YamlWithLines } from '../../network/yaml-lines.ts';
import type { ConnectionLimits } from '../api/index.ts';
import type { LogLevel } from '../logging/index.ts';
import { CONFIG_FIELDS, envName, type FieldKind, type FieldPath, type FieldSpec } from './config-fields.ts';
import { DOCUMENT_SHAPE, FIELD_SCHEMAS, fieldSchema } from './config-schema.ts';
import { ENV_PREFIX, RESERVED_ENV } from './constants.ts';
import { NodeConfigError, type ConfigIssue } from './errors.ts';
import { splitHostPort } from '../../network/host-port.ts';

export interface NodeConfig {
  /** The file it was read from. */
  readonly source: string;
  readonly mspId: string;
  readonly role: OrgRole;
  /** Absolute. */
  readonly dataDir: string;
  /** The log origin is `lianxin/<mspId>/<shard>`. */
  readonly shard: string;
  readonly grpc: { readonly listen: string };
  readonly metrics: { readonly listen: string };
  /**
   * The operations endpoint's TLS, as Fabric's `operations.tls`. Enabled with `clientAuthRequired`, every request
   * presents a certificate from `clientRootCAs` and the explorer serves members by their registered role.
   */
  readonly operations: {
    readonly tls: {
      readonly enabled: boolean;
      readonly cert?: string;
      readonly key?: string;
      readonly clientAuthRequired: boolean;
      readonly clientRootCAs?: string;
    };
    /** Addresses and CIDR networks whose machines are the operator's, as loopback is; empty: none. */
    readonly operatorNetworks: readonly string[];
  };
  /** `public`: the read-only explorer pages without a client certificate. Never the default. */
  readonly explorer: { readonly public: boolean };
  readonly log: { readonly level: LogLevel };
  /** Absolute paths of PEM files. */
  readonly tls: { readonly cert: string; readonly key: string; readonly clientCaBundle: string };
  readonly identity: { readonly mspDir: string };
  /** `p2p` is set exactly when `p2p` (the section) is: the libp2p identity the node registered on chain. */
  readonly keys: { readonly log: string; readonly receipt: string; readonly p2p?: string };
  /** The report exchange's libp2p host (DESIGN §7); absent, the node neither serves nor requests reports. */
  readonly p2p?: { readonly listen: string };
  readonly ledger: {
    readonly address: string;
    readonly tlsCa: string;
    readonly hostAlias?: string;
    readonly mutualTls: boolean;
    readonly channel: string;
    readonly chaincode: string;
  };
  readonly checkpoint: { readonly intervalSeconds: number; readonly leaves: number };
  readonly outbox: { readonly maxPendingRecords: number; readonly retryInitialMs: number; readonly retryMaxMs: number };
  readonly ingest: {
    readonly maxBatchRecords: number;
    readonly maxRecordBytes: number;
    readonly usccMode: 'strict' | 'lenient';
  };
  /** When /healthz and gRPC health report the node unhealthy. */
  readonly health: {
    readonly ledgerProbeSeconds: number;
    readonly chainIndexStallSeconds: number;
    readonly anchoringStallSeconds: number;
  };
  /** Chain index snapshots: taken and served (with p2p), and loaded at a first start (node/bootstrap). */
  readonly chainIndex: {
    readonly snapshotIntervalBlocks: number;
    readonly snapshotStart: boolean;
    readonly snapshotQuorum: number;
  };
  /** The data dir's disk: the free-space watermark for ingest, and the probe of a storage fault. */
  readonly storage: {
    readonly minFreeMegabytes: number;
    readonly minFreePercent: number;
    readonly probeIntervalMs: number;
    /** LevelDB's open options: what bounds the store's memory (constants.ts, DEFAULT_LEVELDB_*). */
    readonly leveldb: {
      readonly cacheMegabytes: number;
      readonly writeBufferMegabytes: number;
      readonly chainIndexWriteBufferMegabytes: number;
      readonly maxOpenFiles: number;
      readonly maxFileMegabytes: number;
    };
  };
  readonly shutdown: { readonly graceSeconds: number };
  /** What the gRPC API lets clients hold (issue 11). */
  readonly connections: ConnectionLimits;
  /**
   * What the environment did, for the node to log at start: each `LIANXIN_*` override taken, by variable, with the
   * value used (a path resolved against the working directory, which under systemd is `/`), and the reserved
   * variables present (RESERVED_ENV: the CLI's own settings, never overrides: `LIANXIN_LEDGER` is not
   * `ledger.address`).
   */
  readonly environment: {
    readonly overrides: Readonly<Record<string, unknown>>;
    readonly reserved: readonly string[];
  };
}

/** The process environment, or a map in tests. */
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

export interface ParseOptions {
  /** Names the file in messages; default `node config`. */
  readonly source?: string;
  /** Where relative paths in the file point from; default the working directory. */
  readonly baseDir?: string;
  readonly env?: ConfigEnv;
}

/**
 * Reads the file, applies the environment overrides, validates every field and checks that the files it names
 * exist.
 * @throws NodeConfigError with `field` set for anything the node cannot start with.
 * @example const config = await loadNodeConfig('node.yaml', process.env);
 */
export async function loadNodeConfig(file: string, env: ConfigEnv = {}): Promise<NodeConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const message = `cannot read node config ${file}: ${(err as Error).message}`;
    throw new NodeConfigError('CONFIG_UNREADABLE', message, undefined, { cause: err });
  }
  const config = parseNodeConfig(text, { source: file, baseDir: dirname(resolve(file)), env });
  await checkFiles(config);
  return config;
}

/**
 * Validates configuration text and the environment overrides, without touching the files it names.
 * @throws NodeConfigError `CONFIG_SYNTAX` or `CONFIG_INVALID`.
 */
export function parseNodeConfig(text: string, options: Readonly<ParseOptions> = {}): NodeConfig {
  const source = options.source ?? 'node config';
  const { doc, lineOf } = parseYamlWithLines(text);
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    throw new NodeConfigError('CONFIG_SYNTAX', `${source}: ${syntaxError.message}`, undefined, { cause: syntaxError });
  }
  const reader = new ConfigReader(
    doc.toJS() as unknown,
    { source, lineOf },
    options.baseDir ?? process.cwd(),
    options.env ?? {},
  );
  const v = <P extends FieldPath>(path: P): FieldValue<P> => reader.value(path);
  const config: NodeConfig = {
    source,
    mspId: v('mspId'),
    role: v('role'),
    dataDir: v('dataDir'),
    shard: v('shard'),
    grpc: { listen: v('grpc.listen') },
    metrics: { listen: v('metrics.listen') },
    operations: {
      tls: {
        enabled: v('operations.tls.enabled'),
        ...optional('cert', v('operations.tls.cert')),
        ...optional('key', v('operations.tls.key')),
        clientAuthRequired: v('operations.tls.clientAuthRequired'),
        ...optional('clientRootCAs', v('operations.tls.clientRootCAs')),
      },
      operatorNetworks: v('operations.operatorNetworks') ?? [],
    },
    explorer: { public: v('explorer.public') },
    log: { level: v('log.level') },
    tls: { cert: v('tls.cert'), key: v('tls.key'), clientCaBundle: v('tls.clientCaBundle') },
    identity: { mspDir: v('identity.mspDir') },
    keys: { log: v('keys.log'), receipt: v('keys.receipt'), ...optional('p2p', v('keys.p2p')) },
    ...optional(
      'p2p',
      mapDefined(v('p2p.listen'), (listen) => ({ listen })),
    ),
    ledger: {
      address: v('ledger.address'),
      tlsCa: v('ledger.tlsCa'),
      ...optional('hostAlias', v('ledger.hostAlias')),
      mutualTls: v('ledger.mutualTls'),
      channel: v('ledger.channel'),
      chaincode: v('ledger.chaincode'),
    },
    checkpoint: { intervalSeconds: v('checkpoint.intervalSeconds'), leaves: v('checkpoint.leaves') },
    outbox: {
      maxPendingRecords: v('outbox.maxPendingRecords'),
      retryInitialMs: v('outbox.retryInitialMs'),
      retryMaxMs: v('outbox.retryMaxMs'),
    },
    ingest: {
      maxBatchRecords: v('ingest.maxBatchRecords'),
      maxRecordBytes: v('ingest.maxRecordBytes'),
      usccMode: v('ingest.usccMode') === 'lenient' ? 'lenient' : 'strict',
    },
    health: {
      ledgerProbeSeconds: v('health.ledgerProbeSeconds'),
      chainIndexStallSeconds: v('health.chainIndexStallSeconds'),
      anchoringStallSeconds: v('health.anchoringStallSeconds'),
    },
    chainIndex: {
      snapshotIntervalBlocks: v('chainIndex.snapshotIntervalBlocks'),
      snapshotStart: v('chainIndex.snapshotStart'),
      snapshotQuorum: v('chainIndex.snapshotQuorum'),
    },
    storage: {
      minFreeMegabytes: v('storage.minFreeMegabytes'),
      minFreePercent: v('storage.minFreePercent'),
      probeIntervalMs: v('storage.probeIntervalMs'),
      leveldb: {
        cacheMegabytes: v('storage.leveldb.cacheMegabytes'),
        writeBufferMegabytes: v('storage.leveldb.writeBufferMegabytes'),
        chainIndexWriteBufferMegabytes: v('storage.leveldb.chainIndexWriteBufferMegabytes'),
        maxOpenFiles: v('storage.leveldb.maxOpenFiles'),
        maxFileMegabytes: v('storage.leveldb.maxFileMegabytes'),
      },
    },
    shutdown: { graceSeconds: v('shutdown.graceSeconds') },
    connections: {
      maxConnections: v('connections.maxConnections'),
      maxConnectionsPerAddress: v('connections.maxConnectionsPerAddress'),
      reservedFileDescriptors: v('connections.reservedFileDescriptors'),
      handshakeTimeoutMs: v('connections.handshakeTimeoutMs'),
      idleTimeoutMs: v('connections.idleTimeoutMs'),
      keepaliveTimeMs: v('connections.keepaliveTimeMs'),
      keepaliveTimeoutMs: v('connections.keepaliveTimeoutMs'),
      maxConcurrentStreams: v('connections.maxConcurrentStreams'),
      maxCallsPerCaller: v('connections.maxCallsPerCaller'),
      maxAnonymousConnections: v('connections.maxAnonymousConnections'),
      anonymousLifetimeMs: v('connections.anonymousLifetimeMs'),
      anonymousCallBudget: v('connections.anonymousCallBudget'),
    },
    // Last: every field, and so every override, has been read.
    environment: reader.environment(),
  };
  reader.rejectUnknownFields();
  // Relations between fields, checked only between fields that are valid on their own.
  reader.relate(['outbox.retryInitialMs', 'outbox.retryMaxMs'], () =>
    config.outbox.retryInitialMs > config.outbox.retryMaxMs
      ? `must not exceed "outbox.retryMaxMs" (${config.outbox.retryMaxMs})`
      : undefined,
  );
  reader.relate(['metrics.listen', 'grpc.listen'], () =>
    config.grpc.listen === config.metrics.listen && !config.grpc.listen.endsWith(':0')
      ? `must differ from "grpc.listen" (${config.grpc.listen})`
      : undefined,
  );
  // The backlog waits up to a checkpoint interval before it can move at all: a shorter limit would report every
  // quiet node unhealthy.
  reader.relate(['health.anchoringStallSeconds', 'checkpoint.intervalSeconds'], () =>
    config.health.anchoringStallSeconds <= config.checkpoint.intervalSeconds
      ? `must exceed "checkpoint.intervalSeconds" (${config.checkpoint.intervalSeconds})`
      : undefined,
  );
  // libp2p listens on a multiaddr built from an IP: a DNS name would resolve to who knows which interface.
  reader.relate(['p2p.listen'], () =>
    config.p2p !== undefined && isIP(hostOf(config.p2p.listen)) === 0
      ? `must be an IP address and port (libp2p listens on an IP), got ${JSON.stringify(config.p2p.listen)}`
      : undefined,
  );
  reader.relate(['keys.p2p', 'p2p.listen'], () =>
    config.p2p !== undefined && config.keys.p2p === undefined
      ? 'is required with "p2p.listen": the peer ID the node registered on chain'
      : undefined,
  );
  reader.relate(['p2p.listen', 'grpc.listen', 'metrics.listen'], () =>
    config.p2p !== undefined &&
    !config.p2p.listen.endsWith(':0') &&
    (config.p2p.listen === config.grpc.listen || config.p2p.listen === config.metrics.listen)
      ? 'must differ from "grpc.listen" and "metrics.listen"'
      : undefined,
  );
  // Under mutual TLS the handshake refuses whoever has no consortium certificate: public pages nobody public can open.
  reader.relate(['explorer.public', 'operations.tls.enabled', 'operations.tls.clientAuthRequired'], () =>
    config.explorer.public && config.operations.tls.enabled && config.operations.tls.clientAuthRequired
      ? 'cannot be served with "operations.tls.clientAuthRequired" (the default once "operations.tls.enabled"): ' +
        'the TLS handshake refuses every client without a consortium certificate, so the public never reaches the ' +
        'pages; set "operations.tls.clientAuthRequired: false" (members by certificate, the public without) or ' +
        '"explorer.public: false"'
      : undefined,
  );
  // A ping unanswered for longer than the ping interval would overlap the next one.
  reader.relate(['connections.keepaliveTimeoutMs', 'connections.keepaliveTimeMs'], () =>
    config.connections.keepaliveTimeoutMs > config.connections.keepaliveTimeMs
      ? `must not exceed "connections.keepaliveTimeMs" (${config.connections.keepaliveTimeMs})`
      : undefined,
  );
  reader.throwIfInvalid();
  return config;
}

type KindValue<K extends FieldKind> = K extends { type: 'integer' }
  ? number
  : K extends { type: 'boolean' }
    ? boolean
    : K extends { type: 'role' }
      ? OrgRole
      : K extends { type: 'logLevel' }
        ? LogLevel
        : K extends { type: 'networks' }
          ? readonly string[]
          : string;
type Spec<P extends FieldPath> = (typeof CONFIG_FIELDS)[P];
type FieldValue<P extends FieldPath> =
  Spec<P> extends { optional: true } ? KindValue<Spec<P>['kind']> | undefined : KindValue<Spec<P>['kind']>;

type Fields = Record<string, unknown>;

function mapDefined<T, U>(value: T | undefined, map: (value: T) => U): U | undefined {
  return value === undefined ? undefined : map(value);
}

/** The host of `host:port` or `[ipv6]:port`, without brackets. */
export function hostOf(address: string): string {
  return splitHostPort(address).host;
}

function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

const FILE_KINDS = new Set<FieldKind['type']>(['file', 'dir']);

/** Unwinds the reading of one field once its problem is recorded; never leaves the reader. */
class FieldRejected extends Error {}

/**
 * Reads every field and collects every problem, so that an operator fixes a file in one pass rather than one
 * field per start.
 */
class ConfigReader {
  readonly #doc: unknown;
  readonly #source: string;
  readonly #lineOf: (path: string) => number | undefined;
  readonly #baseDir: string;
  /** Overrides by field path. */
  readonly #env = new Map<string, string>();
  readonly #issues: ConfigIssue[] = [];
  /** Each issue as a list of several names it: without the source, `line 12: "grpc.listen" …`. */
  readonly #listed: string[] = [];
  /** Overrides taken, by variable: the value used. */
  readonly #overrides: Record<string, unknown> = {};
  readonly #reserved: string[] = [];

  constructor(
    doc: unknown,
    { source, lineOf }: { readonly source: string; readonly lineOf: YamlWithLines['lineOf'] },
    baseDir: string,
    env: ConfigEnv,
  ) {
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new NodeConfigError('CONFIG_INVALID', `${source}: the document must be a mapping`, '(document)');
    }
    this.#doc = doc ?? {};
    this.#source = source;
    this.#lineOf = lineOf;
    this.#baseDir = baseDir;
    const byEnvName = new Map(Object.keys(CONFIG_FIELDS).map((path) => [envName(path), path]));
    for (const [name, value] of Object.entries(env)) {
      if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
      if ((RESERVED_ENV as readonly string[]).includes(name)) {
        this.#reserved.push(name);
        continue;
      }
      const path = byEnvName.get(name);
      // A misspelt override silently ignored would leave the node running with the value the operator meant
      // to replace.
      if (path === undefined) {
        this.#add({ field: name, message: `${name} is not a known configuration override` });
        continue;
      }
      this.#env.set(path, value);
    }
  }

  /** The field's value; a placeholder when it is invalid (its problem recorded: `throwIfInvalid` then throws). */
  value<P extends FieldPath>(path: P): FieldValue<P> {
    try {
      return this.#value(path);
    } catch (err) {
      if (err instanceof FieldRejected) return undefined as FieldValue<P>;
      throw err;
    }
  }

  /** Checks a relation between `fields` (the first is the one named), once each of them is valid by itself. */
  relate(fields: readonly [FieldPath, ...FieldPath[]], problem: () => string | undefined): void {
    if (fields.some((field) => this.#issues.some((issue) => issue.field === field))) return;
    const found = problem();
    if (found !== undefined) this.#record(fields[0], found);
  }

  /** @throws NodeConfigError `CONFIG_INVALID` naming every problem found, the first one's field as `field`. */
  throwIfInvalid(): void {
    const [first, ...more] = this.#issues;
    if (first === undefined) return;
    const message =
      more.length === 0
        ? first.message
        : `${this.#source}: ${this.#issues.length} problems: ${this.#listed.join('; ')}`;
    throw new NodeConfigError('CONFIG_INVALID', message, first.field, { issues: this.#issues });
  }

  #value<P extends FieldPath>(path: P): FieldValue<P> {
    const spec: FieldSpec = CONFIG_FIELDS[path];
    const fromEnv = this.#env.get(path);
    const raw: unknown = fromEnv ?? this.#lookup(path);
    if (raw === undefined || raw === null) {
      if (spec.default !== undefined) return spec.default as FieldValue<P>;
      if (spec.optional === true) return undefined as FieldValue<P>;
      this.fail(path, 'is required');
    }
    if (fromEnv === undefined) return this.#check(path, spec.kind, raw, false) as FieldValue<P>;
    const value = this.#check(path, spec.kind, fromEnvText(spec.kind, fromEnv), true);
    this.#overrides[envName(path)] = value;
    return value as FieldValue<P>;
  }

  /** The overrides taken and the reserved variables present (NodeConfig.environment). */
  environment(): NodeConfig['environment'] {
    return { overrides: { ...this.#overrides }, reserved: [...this.#reserved] };
  }

  /** Any key of the document that no field consumed is a typo or a field of another version. */
  rejectUnknownFields(): void {
    const parsed = DOCUMENT_SHAPE.safeParse(this.#doc);
    if (parsed.success) return;
    const known = [...new Set(Object.keys(CONFIG_FIELDS).map((p) => p.split('.')[0]))].join(', ');
    for (const issue of parsed.error.issues) {
      const at = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          this.#record(at === '' ? key : `${at}.${key}`, `is not a known field (top-level fields: ${known})`, false);
        }
      } else {
        this.#record(at, issue.message, false);
      }
    }
  }

  /** Records the problem of `path` and abandons reading it. */
  fail(path: string, problem: string, fromEnv = this.#env.has(path)): never {
    this.#record(path, problem, fromEnv);
    throw new FieldRejected();
  }

  #record(path: string, problem: string, fromEnv = this.#env.has(path)): void {
    // A section that is not a mapping is met by each of its fields: name it once.
    if (this.#issues.some((issue) => issue.field === path)) return;
    if (fromEnv) {
      this.#add({ field: path, message: `${envName(path)} (overriding "${path}") ${problem}` });
      return;
    }
    const line = this.#lineOf(path);
    const what = `"${path}" ${problem}`;
    this.#add(
      { field: path, message: `${this.#source}:${line === undefined ? '' : `${String(line)}:`} ${what}` },
      line === undefined ? what : `line ${String(line)}: ${what}`,
    );
  }

  /** `listed`: how a list of several issues names it (default: its message). */
  #add(issue: ConfigIssue, listed = issue.message): void {
    this.#issues.push(issue);
    this.#listed.push(listed);
  }

  #lookup(path: string): unknown {
    let value: unknown = this.#doc;
    let at = '';
    for (const key of path.split('.')) {
      if (value === null || value === undefined) return undefined;
      if (typeof value !== 'object' || Array.isArray(value)) this.fail(at, 'must be a mapping', false);
      value = (value as Fields)[key];
      at = at === '' ? key : `${at}.${key}`;
    }
    return value;
  }

  #check(path: string, kind: FieldKind, value: unknown, fromEnv: boolean): unknown {
    const parsed = (FIELD_SCHEMAS.get(path) ?? fieldSchema(kind)).safeParse(value);
    if (!parsed.success) {
      const problem = parsed.error.issues[0]?.message ?? 'is invalid';
      this.fail(path, `${problem}, got ${JSON.stringify(value)}`, fromEnv);
    }
    if (FILE_KINDS.has(kind.type) || kind.type === 'path') {
      return resolve(fromEnv ? process.cwd() : this.#baseDir, parsed.data as string);
    }
    return parsed.data;
  }
}

/** Environment values are text: numbers and booleans are converted, anything else is left to fail validation. */
function fromEnvText(kind: FieldKind, text: string): unknown {
  if (kind.type === 'integer' && /^-?\d+$/.test(text)) return Number(text);
  if (kind.type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  if (kind.type === 'networks') return text.split(',').map((network) => network.trim());
  return text;
}

/** Files must be readable and directories must exist before the node starts, not at first use; all are named. */
async function checkFiles(config: NodeConfig): Promise<void> {
  const issues: ConfigIssue[] = [];
  for (const path of Object.keys(CONFIG_FIELDS) as FieldPath[]) {
    const kind = CONFIG_FIELDS[path].kind.type;
    if (!FILE_KINDS.has(kind)) continue;
    const file = valueAt(config, path);
    // An optional file left out (keys.p2p without p2p) is not missing.
    if (file === undefined) continue;
    const problem = await fileProblem(file, kind === 'dir');
    if (problem !== undefined) issues.push({ field: path, message: `"${path}" ${problem}: ${file}` });
  }
  const [first] = issues;
  if (first === undefined) return;
  const message = `${config.source}: ${issues.map((issue) => issue.message).join('; ')}`;
  throw new NodeConfigError('CONFIG_FILE_MISSING', message, first.field, {
    issues: issues.map((issue) => ({ ...issue, message: `${config.source}: ${issue.message}` })),
  });
}

async function fileProblem(path: string, directory: boolean): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (directory !== info.isDirectory()) return directory ? 'is not a directory' : 'is not a regular file';
    await access(path, constants.R_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
  }
}

function valueAt(config: NodeConfig, path: string): string | undefined {
  let value: unknown = config;
  for (const key of path.split('.')) value = (value as Fields | undefined)?.[key];
  return value as string | undefined;
}
