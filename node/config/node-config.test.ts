import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_CONNECTION_LIMITS } from '../api/index.ts';
import {
  CONFIG_FIELDS,
  DEFAULT_CHECKPOINT_LEAVES,
  DEFAULT_GRPC_LISTEN,
  envName,
  levelDbTunings,
  loadNodeConfig,
  type NodeConfigError,
  parseNodeConfig,
  type ConfigEnv,
  type FieldPath,
  type FieldSpec,
} from './index.ts';

const EXAMPLE = new URL('./node.example.yaml', import.meta.url).pathname;
const BASE = '/etc/lianxin';

type Doc = Record<string, unknown>;

const EXAMPLE_TEXT = await readFile(EXAMPLE, 'utf8');

/** A fresh copy of the example file's document, for tests to break one field at a time. */
function example(): Doc {
  return parse(EXAMPLE_TEXT) as Doc;
}

/** Sets (or, with `undefined`, deletes) a dotted path of a parsed document. */
function set(doc: Doc, path: string, value: unknown): Doc {
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let node = doc;
  for (const key of keys) node = (node[key] ??= {}) as Doc;
  if (value === undefined) Reflect.deleteProperty(node, last);
  else node[last] = value;
  return doc;
}

/** The error `fn` throws, for structural assertions on it. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

function parseDoc(doc: Doc, env: ConfigEnv = {}) {
  return parseNodeConfig(stringify(doc), { source: 'node.yaml', baseDir: BASE, env });
}

describe('parseNodeConfig', () => {
  it('reads the example file with paths resolved against its directory', () => {
    const config = parseNodeConfig(EXAMPLE_TEXT, { source: EXAMPLE, baseDir: BASE });
    expect(config).toMatchObject({
      mspId: 'HangzhouCreditMSP',
      role: 'agency',
      dataDir: '/.data/nodes/HangzhouCreditMSP',
      grpc: { listen: '127.0.0.1:7102' },
      log: { level: 'info' },
      tls: { cert: '/.data/crypto/HangzhouCreditMSP/peers/node0/tls/server.crt' },
      ledger: {
        address: '127.0.0.1:7051',
        hostAlias: 'ledger0.operator.lianxin.local',
        mutualTls: false,
        channel: 'lianxin',
        chaincode: 'lianxin',
      },
      checkpoint: { intervalSeconds: 5, leaves: 10_000 },
      ingest: { maxBatchRecords: 1000, maxRecordBytes: 65_536 },
    });
  });

  it('fills every field with a default when the file omits it', () => {
    const doc = example();
    for (const path of ['grpc', 'metrics', 'log', 'checkpoint', 'outbox', 'ingest', 'ledger.chaincode']) {
      set(doc, path, undefined);
    }
    const config = parseDoc(doc);
    expect(config.grpc.listen).toBe(DEFAULT_GRPC_LISTEN);
    expect(config.checkpoint.leaves).toBe(DEFAULT_CHECKPOINT_LEAVES);
    expect(config.ledger.chaincode).toBe('lianxin');
    expect(config.log.level).toBe('info');
    // Fabric's peer operations default; 9100 is node_exporter's on most scraped hosts.
    expect(config.metrics.listen).toBe('127.0.0.1:9443');
    expect(config.health).toEqual({ ledgerProbeSeconds: 5, chainIndexStallSeconds: 120, anchoringStallSeconds: 120 });
    expect(config.shutdown.graceSeconds).toBe(10);
  });

  it('reads the operator networks as a list, or comma-separated from LIANXIN_OPERATIONS_OPERATOR_NETWORKS', () => {
    expect(parseDoc(example()).operations.operatorNetworks).toEqual([]);
    const listed = parseDoc(
      set(example(), 'operations.operatorNetworks', ['10.20.0.0/24', 'fd00:20::/64', '10.9.8.7']),
    );
    expect(listed.operations.operatorNetworks).toEqual(['10.20.0.0/24', 'fd00:20::/64', '10.9.8.7']);
    const fromEnv = parseDoc(example(), { LIANXIN_OPERATIONS_OPERATOR_NETWORKS: '10.20.0.0/24, 10.9.8.7' });
    expect(fromEnv.operations.operatorNetworks).toEqual(['10.20.0.0/24', '10.9.8.7']);
  });

  it('leaves the optional host alias out when absent', () => {
    const config = parseDoc(set(example(), 'ledger.hostAlias', undefined));
    expect('hostAlias' in config.ledger).toBe(false);
  });

  it('lets LIANXIN_<PATH> variables override fields, converting numbers and booleans', () => {
    const config = parseDoc(example(), {
      LIANXIN_GRPC_LISTEN: '0.0.0.0:8443',
      LIANXIN_LEDGER_ADDRESS: 'peer0.example.com:7051',
      LIANXIN_LEDGER_HOST_ALIAS: 'peer0.example.com',
      LIANXIN_LEDGER_MUTUAL_TLS: 'true',
      LIANXIN_CHECKPOINT_LEAVES: '500',
      LIANXIN_DATA_DIR: 'relative/data',
      LIANXIN_CONFIG: '/somewhere/node.yaml',
      // The CLI's and operator commands' own variables are not overrides.
      LIANXIN_MSP: 'ShanghaiBankMSP',
      LIANXIN_CRYPTO_DIR: '/somewhere/crypto',
      PATH: '/usr/bin',
    });
    expect(config.grpc.listen).toBe('0.0.0.0:8443');
    expect(config.ledger).toMatchObject({
      address: 'peer0.example.com:7051',
      hostAlias: 'peer0.example.com',
      mutualTls: true,
    });
    expect(config.checkpoint.leaves).toBe(500);
    // Paths from the environment are relative to the working directory, not to the file.
    expect(config.dataDir).toBe(resolve('relative/data'));
    // What the node logs at start: each override as used, and the reserved variables it left alone.
    expect(config.environment).toEqual({
      overrides: {
        LIANXIN_GRPC_LISTEN: '0.0.0.0:8443',
        LIANXIN_LEDGER_ADDRESS: 'peer0.example.com:7051',
        LIANXIN_LEDGER_HOST_ALIAS: 'peer0.example.com',
        LIANXIN_LEDGER_MUTUAL_TLS: true,
        LIANXIN_CHECKPOINT_LEAVES: 500,
        LIANXIN_DATA_DIR: resolve('relative/data'),
      },
      reserved: ['LIANXIN_CONFIG', 'LIANXIN_MSP', 'LIANXIN_CRYPTO_DIR'],
    });
    expect(parseDoc(example()).environment).toEqual({ overrides: {}, reserved: [] });
  });

  it('supplies required fields from the environment alone', () => {
    const config = parseDoc(set(example(), 'mspId', undefined), { LIANXIN_MSP_ID: 'HefeiCreditMSP' });
    expect(config.mspId).toBe('HefeiCreditMSP');
  });

  it('documents the environment variable of every field in the table', async () => {
    const source = await readFile(new URL('./config-fields.ts', import.meta.url), 'utf8');
    for (const path of Object.keys(CONFIG_FIELDS)) {
      expect(source).toMatch(new RegExp(`\\| ${envName(path)} +\\| ${path.replace('.', '\\.')} +\\|`));
    }
    expect(envName('ledger.hostAlias')).toBe('LIANXIN_LEDGER_HOST_ALIAS');
    expect(envName('grpc.listen')).toBe('LIANXIN_GRPC_LISTEN');
  });

  const required = (Object.keys(CONFIG_FIELDS) as FieldPath[]).filter((path) => {
    const spec: FieldSpec = CONFIG_FIELDS[path];
    return spec.default === undefined && spec.optional !== true;
  });
  it.each(required)('rejects a file without the required field %s', (path) => {
    expect(() => parseDoc(set(example(), path, undefined))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: path }),
    );
  });

  const invalid: [string, unknown][] = [
    ['mspId', 'Hangzhou Credit'],
    ['mspId', 42],
    ['role', 'auditor'],
    ['dataDir', ''],
    ['grpc.listen', '127.0.0.1'],
    ['grpc.listen', '127.0.0.1:70000'],
    ['grpc.listen', '[zz::1]:7101'],
    ['metrics.listen', 'host name:9100'],
    ['log.level', 'verbose'],
    ['tls.cert', ['a.pem']],
    ['ledger.address', ':7051'],
    ['ledger.hostAlias', 'Ledger_0'],
    ['ledger.mutualTls', 'yes'],
    ['ledger.channel', 'Lianxin'],
    ['ledger.chaincode', 'lian xin'],
    ['checkpoint.intervalSeconds', 0],
    ['checkpoint.leaves', 10_001],
    ['checkpoint.leaves', 1.5],
    ['checkpoint.leaves', '100'],
    ['outbox.maxPendingRecords', -1],
    ['ingest.maxBatchRecords', 0],
    ['ingest.maxRecordBytes', 1e9],
    ['health.ledgerProbeSeconds', 0],
    ['health.chainIndexStallSeconds', 'long'],
    ['shutdown.graceSeconds', 0],
    ['operations.operatorNetworks', '10.20.0.0/24'],
    ['operations.operatorNetworks', ['10.20.0.0/33']],
    ['operations.operatorNetworks', ['monitoring.example']],
  ];
  it.each(invalid)('rejects %s = %j, naming the field', (path, value) => {
    const err = thrown(() => parseDoc(set(example(), path, value)));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', field: path });
    expect((err as Error).message).toContain(`"${path}"`);
  });

  it('names every invalid field at once, in one line, so one edit fixes the file', () => {
    let doc = set(example(), 'mspId', 'Hangzhou Credit');
    doc = set(doc, 'grpc.listen', 'nope');
    doc = set(doc, 'ledger.channel', undefined);
    doc = set(doc, 'ledger.adress', 'x:1');
    const err = thrown(() => parseDoc(doc, { LIANXIN_CHECKPOINT_LEAVES: 'many' }));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', field: 'mspId' });
    expect((err as NodeConfigError).issues.map((issue) => issue.field)).toEqual([
      'mspId',
      'grpc.listen',
      'ledger.channel',
      'checkpoint.leaves',
      'ledger.adress',
    ]);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    for (const named of [
      '"mspId"',
      '"grpc.listen"',
      '"ledger.channel"',
      'LIANXIN_CHECKPOINT_LEAVES',
      '"ledger.adress"',
    ]) {
      expect(message).toContain(named);
    }
  });

  it.each([
    ['checkpoint.leaves', 0, '"checkpoint.leaves" must be an integer from 1 to 10000, got 0'],
    ['outbox.retryMaxMs', 1.5, '"outbox.retryMaxMs" must be an integer from 1 to 86400000, got 1.5'],
    ['ledger.mutualTls', 'yes', '"ledger.mutualTls" must be true or false, got "yes"'],
    ['role', 'king', '"role" must be one of agency, bank, platform, regulator, operator, got "king"'],
    ['grpc.listen', 'nohost', '"grpc.listen" must be host:port (port 0 to 65535), got "nohost"'],
    ['mspId', '1bad', '"mspId" must be an MSP ID, got "1bad"'],
    ['mspId', '  ', '"mspId" must be a non-empty string, got "  "'],
    ['tls.cert', 7, '"tls.cert" must be a non-empty path, got 7'],
    ['grpc', [1], '"grpc" must be a mapping'],
    ['ledger.adress', 'x:1', '"ledger.adress" is not a known field (top-level fields: mspId, role, dataDir, shard, '],
  ])('states the requirement %s = %j breaks, and the value: %s', (path, value, expected) => {
    expect((thrown(() => parseDoc(set(example(), path, value))) as Error).message).toMatch(
      new RegExp(`^node\\.yaml:\\d+: ${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  });

  it("names the file's line of each field it refuses, of a missing field its section's", () => {
    const lines = EXAMPLE_TEXT.split('\n');
    const lineOf = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line)) + 1;
    const leaves = lineOf(/^ {2}leaves:/);
    const listen = lineOf(/^grpc:/) + 1;
    const channel = lineOf(/^ {2}channel: lianxin/);
    const ledger = lineOf(/^ledger:/);
    lines[leaves - 1] = '  leaves: 0';
    const one = (thrown(() => parseNodeConfig(lines.join('\n'), { source: 'node.yaml', baseDir: BASE })) as Error)
      .message;
    expect(one).toMatch(new RegExp(`^node\\.yaml:${String(leaves)}: "checkpoint\\.leaves" must be an integer`));
    lines[listen - 1] = '  listen: nohost';
    lines[channel - 1] = '';
    const err = thrown(() => parseNodeConfig(lines.join('\n'), { source: 'node.yaml', baseDir: BASE }));
    expect((err as Error).message).toMatch(
      new RegExp(
        `^node\\.yaml: 3 problems: line ${String(listen)}: "grpc\\.listen" .*; line ${String(ledger)}: "ledger\\.channel" is required; line ${String(leaves)}: "checkpoint\\.leaves" `,
      ),
    );
    expect((err as NodeConfigError).issues[0]?.message).toMatch(new RegExp(`^node\\.yaml:${String(listen)}: `));
  });

  it('rejects an anchoring stall limit that a quiet node would reach between two checkpoints', () => {
    const doc = set(set(example(), 'checkpoint.intervalSeconds', 60), 'health.anchoringStallSeconds', 60);
    expect(() => parseDoc(doc)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'health.anchoringStallSeconds' }),
    );
    expect(parseDoc(set(doc, 'health.anchoringStallSeconds', 61)).health.anchoringStallSeconds).toBe(61);
  });

  it('rejects public explorer pages behind mutual TLS, which refuses the public at the handshake, naming the field', () => {
    const doc = set(set(example(), 'operations.tls.enabled', true), 'explorer.public', true);
    const err = thrown(() => parseDoc(doc));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', field: 'explorer.public' });
    expect((err as Error).message).toContain(
      '"explorer.public" cannot be served with "operations.tls.clientAuthRequired"',
    );
    expect(parseDoc(set(doc, 'operations.tls.clientAuthRequired', false)).explorer.public).toBe(true);
    // Plain HTTP (the loopback demo) has no handshake to refuse anyone.
    expect(parseDoc(set(doc, 'operations.tls.enabled', false)).explorer.public).toBe(true);
  });

  it('rejects an unknown field and an unknown section', () => {
    expect(() => parseDoc(set(example(), 'ledger.adress', 'x:1'))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'ledger.adress' }),
    );
    expect(() => parseDoc(set(example(), 'gossip', { listen: 'x:1' }))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'gossip' }),
    );
  });

  it('rejects a section that is not a mapping', () => {
    expect(() => parseDoc(set(example(), 'ledger', 'x:1'))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'ledger' }),
    );
  });

  it('reads the connection limits, defaults for those the file omits, and rejects a keepalive timeout above its interval', () => {
    const config = parseDoc(set(set(example(), 'connections', undefined), 'connections.maxConnections', 100), {
      LIANXIN_CONNECTIONS_MAX_CALLS_PER_CALLER: '8',
    });
    expect(config.connections).toEqual({ ...DEFAULT_CONNECTION_LIMITS, maxConnections: 100, maxCallsPerCaller: 8 });
    const err = thrown(() => parseDoc(set(example(), 'connections.keepaliveTimeoutMs', 120_000)));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((err as Error).message).toContain('"connections.keepaliveTimeoutMs" must not exceed');
    expect(thrown(() => parseDoc(set(example(), 'connections.handshakeTimeoutMs', 0)))).toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });

  it('reads the LevelDB bounds, defaults for those the file omits, and rejects an open-file limit LevelDB would clip', () => {
    const doc = set(set(example(), 'storage.leveldb', undefined), 'storage.leveldb.maxOpenFiles', 100);
    const config = parseDoc(doc, { LIANXIN_STORAGE_LEVELDB_CACHE_MEGABYTES: '32' });
    expect(config.storage.leveldb).toEqual({
      cacheMegabytes: 32,
      writeBufferMegabytes: 16,
      chainIndexWriteBufferMegabytes: 4,
      maxOpenFiles: 100,
      maxFileMegabytes: 2,
    });
    expect(parseDoc(set(example(), 'storage', undefined)).storage.leveldb).toEqual({
      cacheMegabytes: 8,
      writeBufferMegabytes: 16,
      chainIndexWriteBufferMegabytes: 4,
      maxOpenFiles: 256,
      maxFileMegabytes: 2,
    });
    const chainIndex = parseDoc(example(), { LIANXIN_STORAGE_LEVELDB_CHAIN_INDEX_WRITE_BUFFER_MEGABYTES: '8' });
    expect(chainIndex.storage.leveldb.chainIndexWriteBufferMegabytes).toBe(8);
    // As the node opens its two LevelDBs: each its own write buffer, the rest alike.
    const MIB = 2 ** 20;
    const shared = { cacheSize: 8 * MIB, maxOpenFiles: 256, maxFileSize: 2 * MIB };
    expect(levelDbTunings(chainIndex.storage.leveldb)).toEqual({
      leveldb: { ...shared, writeBufferSize: 16 * MIB },
      chainIndexLeveldb: { ...shared, writeBufferSize: 8 * MIB },
    });
    // LevelDB clips max_open_files to at least 74 (64 tables and 10 other files): a smaller value would not hold.
    expect(() => parseDoc(set(example(), 'storage.leveldb.maxOpenFiles', 20))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'storage.leveldb.maxOpenFiles' }),
    );
    expect(() => parseDoc(set(example(), 'storage.leveldb.maxFileMegabytes', 0))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'storage.leveldb.maxFileMegabytes' }),
    );
    expect(() => parseDoc(set(example(), 'storage.leveldb.chainIndexWriteBufferMegabytes', 0))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'storage.leveldb.chainIndexWriteBufferMegabytes' }),
    );
  });

  it('rejects a retry delay that starts above its cap', () => {
    const doc = set(set(example(), 'outbox.retryInitialMs', 5000), 'outbox.retryMaxMs', 1000);
    expect(() => parseDoc(doc)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'outbox.retryInitialMs' }),
    );
  });

  it('rejects checkpoints of more leaves than one anchor may index, and takes any batch size with the limit', () => {
    expect(() => parseDoc(set(example(), 'checkpoint.leaves', 10_001))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'checkpoint.leaves' }),
    );
    // The checkpointer signs every N leaves however large a group commit is (node/log/checkpointer.ts).
    const config = parseDoc(set(set(example(), 'checkpoint.leaves', 10_000), 'ingest.maxBatchRecords', 5_000));
    expect(config.checkpoint.leaves).toBe(10_000);
  });

  it('reads the log shard and the USCC mode, and rejects an unknown mode', () => {
    const config = parseDoc(set(set(example(), 'shard', 'east-1'), 'ingest.usccMode', 'lenient'));
    expect(config).toMatchObject({ shard: 'east-1', ingest: { usccMode: 'lenient' } });
    expect(() => parseDoc(set(example(), 'ingest.usccMode', 'loose'))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'ingest.usccMode' }),
    );
  });

  it('reads the p2p section with its key, and leaves both out when the file has none', () => {
    const config = parseDoc(example());
    expect(config.p2p).toEqual({ listen: '127.0.0.1:7202' });
    expect(config.keys.p2p).toBe('/.data/nodes/HangzhouCreditMSP/keys/p2p.key');
    const without = parseDoc(set(set(example(), 'p2p', undefined), 'keys.p2p', undefined));
    expect('p2p' in without).toBe(false);
    expect('p2p' in without.keys).toBe(false);
  });

  it('rejects p2p without its key, on a DNS name, or on the gRPC address, naming the field', () => {
    expect(() => parseDoc(set(example(), 'keys.p2p', undefined))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'keys.p2p' }),
    );
    expect(() => parseDoc(set(example(), 'p2p.listen', 'node0.example.com:7202'))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'p2p.listen' }),
    );
    expect(() => parseDoc(set(example(), 'p2p.listen', '127.0.0.1:7102'))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'p2p.listen' }),
    );
    expect(() => parseDoc(example(), { LIANXIN_P2P_LISTEN: '127.0.0.1' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'p2p.listen' }),
    );
  });

  it('rejects metrics on the gRPC address', () => {
    const doc = set(example(), 'metrics.listen', '127.0.0.1:7102');
    expect(() => parseDoc(doc)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'metrics.listen' }));
  });

  it('rejects malformed YAML, duplicate keys and a document that is not a mapping', () => {
    expect(() => parseNodeConfig('mspId: [unclosed')).toThrow(expect.objectContaining({ code: 'CONFIG_SYNTAX' }));
    expect(() => parseNodeConfig('mspId: A\nmspId: B\n')).toThrow(expect.objectContaining({ code: 'CONFIG_SYNTAX' }));
    expect(() => parseNodeConfig('- a\n- b\n')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: '(document)' }),
    );
  });

  it('rejects an unknown LIANXIN_ variable instead of ignoring a misspelt override', () => {
    expect(() => parseDoc(example(), { LIANXIN_GRPC_LISTN: '0.0.0.0:1' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'LIANXIN_GRPC_LISTN' }),
    );
  });

  it('names the environment variable when an override is invalid', () => {
    const err = thrown(() => parseDoc(example(), { LIANXIN_CHECKPOINT_LEAVES: 'many' }));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', field: 'checkpoint.leaves' });
    expect((err as Error).message).toContain('LIANXIN_CHECKPOINT_LEAVES');
  });
});

describe('loadNodeConfig', () => {
  let dir: string;

  /** A config whose every file and directory exists under `dir`. */
  async function writeConfig(mutate: (doc: Doc) => void = () => undefined): Promise<string> {
    const doc: Doc = {
      mspId: 'HangzhouCreditMSP',
      role: 'agency',
      dataDir: 'data',
      tls: { cert: 'tls/server.crt', key: 'tls/server.key', clientCaBundle: 'tls/cas.pem' },
      identity: { mspDir: 'msp' },
      keys: { log: 'keys/log.key', receipt: 'keys/receipt.key' },
      ledger: { address: '127.0.0.1:7051', tlsCa: 'tls/ledger-ca.pem', channel: 'lianxin' },
    };
    mutate(doc);
    const file = join(dir, 'node.yaml');
    await writeFile(file, stringify(doc));
    return file;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-config-'));
    await Promise.all(['tls', 'keys', 'msp'].map((d) => mkdir(join(dir, d))));
    for (const f of ['tls/server.crt', 'tls/server.key', 'tls/cas.pem', 'tls/ledger-ca.pem', 'keys/log.key']) {
      await writeFile(join(dir, f), 'pem');
    }
    await writeFile(join(dir, 'keys/receipt.key'), 'pem');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('loads a file whose named files exist, resolving paths against its directory', async () => {
    const config = await loadNodeConfig(await writeConfig());
    expect(config.tls.cert).toBe(join(dir, 'tls/server.crt'));
    expect(config.identity.mspDir).toBe(join(dir, 'msp'));
    // The data directory is the node's to create.
    expect(config.dataDir).toBe(join(dir, 'data'));
  });

  it('rejects a missing file, naming the field', async () => {
    const file = await writeConfig((doc) => set(doc, 'keys.receipt', 'keys/missing.key'));
    await expect(loadNodeConfig(file)).rejects.toMatchObject({ code: 'CONFIG_FILE_MISSING', field: 'keys.receipt' });
  });

  it('names every missing file at once', async () => {
    const file = await writeConfig((doc) => {
      set(doc, 'keys.log', 'keys/gone.key');
      set(doc, 'tls.key', 'tls/gone.key');
    });
    const err: unknown = await loadNodeConfig(file).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONFIG_FILE_MISSING', field: 'tls.key' });
    expect((err as NodeConfigError).issues.map((issue) => issue.field)).toEqual(['tls.key', 'keys.log']);
    expect((err as Error).message).toContain(join(dir, 'keys/gone.key'));
  });

  it('rejects a directory where a file belongs and a file where a directory belongs', async () => {
    const asDir = await writeConfig((doc) => set(doc, 'tls.cert', 'msp'));
    await expect(loadNodeConfig(asDir)).rejects.toMatchObject({ code: 'CONFIG_FILE_MISSING', field: 'tls.cert' });
    const asFile = await writeConfig((doc) => set(doc, 'identity.mspDir', 'keys/log.key'));
    await expect(loadNodeConfig(asFile)).rejects.toMatchObject({
      code: 'CONFIG_FILE_MISSING',
      field: 'identity.mspDir',
    });
  });

  it('rejects a p2p key file that does not exist, naming keys.p2p', async () => {
    const file = await writeConfig((doc) => {
      set(doc, 'keys.p2p', 'keys/p2p.key');
      set(doc, 'p2p.listen', '127.0.0.1:7202');
    });
    await expect(loadNodeConfig(file)).rejects.toMatchObject({ code: 'CONFIG_FILE_MISSING', field: 'keys.p2p' });
  });

  it('rejects a file overridden by the environment to one that does not exist', async () => {
    await expect(
      loadNodeConfig(await writeConfig(), { LIANXIN_LEDGER_TLS_CA: '/nonexistent/ca.pem' }),
    ).rejects.toMatchObject({ code: 'CONFIG_FILE_MISSING', field: 'ledger.tlsCa' });
  });

  it('reports a configuration file that cannot be read', async () => {
    await expect(loadNodeConfig(join(dir, 'absent.yaml'))).rejects.toMatchObject({ code: 'CONFIG_UNREADABLE' });
  });
});
