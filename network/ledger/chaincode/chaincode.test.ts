import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaincodeConnection, SimulationResult } from '../types.ts';
import { ChaincodeError, connectChaincodeService, startInProcessChaincode, type ChaincodeServiceTls } from './index.ts';
import { createClientIdentity, createTlsMaterial, invocationOf, MapState, readRwset } from './testing.ts';
import { connect } from 'node:net';
import { eventually } from '../../../test/support/eventually.ts';
import { freePort } from '../../../test/support/free-port.ts';

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const cli = fileURLToPath(new URL('../../../node_modules/.bin/fabric-chaincode-node', import.meta.url));
// as fabric-shim's contract-spi bootstrap loads a chaincode module
const { contracts } = createRequire(import.meta.url)('./fixtures/index.js') as {
  contracts: (abstract new () => unknown)[];
};
/** One client for every transport, so that the same seed gives the same txid and identical results. */
const client = await createClientIdentity('Org1MSP', 'User1');

const CHANNEL = 'credit';
const NAME = 'fixture';
const PEER_MSP = 'PeerOrgMSP';
const v = (blockNum: number, txNum: number) => ({ blockNum, txNum });

function committedState(): MapState {
  const state = new MapState()
    .set(NAME, 'alpha', 'committed-alpha', v(3, 1))
    .set(NAME, 'beta', 'committed-beta', v(4, 0))
    .set(NAME, '\u{1F600}emoji', 'above-bmp', v(5, 0))
    .set(NAME, '\uFFFDreplacement', 'bmp-top', v(5, 1))
    .set('other', 'alpha', 'other-namespace', v(1, 0));
  for (const [a, b] of [
    ['org1', 'x'],
    ['org1', 'y'],
    ['org2', 'x'],
  ] as const) {
    state.set(NAME, `\u0000loan\u0000${a}\u0000${b}\u0000`, `${a}-${b}`, v(6, 0));
  }
  for (let i = 0; i < 7; i++) state.set(NAME, `page${i}`, `p${i}`, v(7, i));
  return state;
}

/** The real fabric-shim CLI in server mode (lib/cmds/serverCommand.js), loading the fixture package. */
function startServer(port: number, extraArgs: string[] = []): ChildProcess {
  return spawn(
    process.execPath,
    [
      cli,
      'server',
      '--chaincode-address',
      `127.0.0.1:${port}`,
      '--chaincode-id',
      `${NAME}:1`,
      '--module-path',
      fixtureDir,
      ...extraArgs,
    ],
    { env: { ...process.env, CORE_PEER_LOCALMSPID: PEER_MSP }, stdio: 'ignore' },
  );
}

async function connectWhenUp(port: number, tls?: ChaincodeServiceTls): Promise<ChaincodeConnection> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectChaincodeService({
        name: NAME,
        address: `127.0.0.1:${port}`,
        connectTimeoutMs: 2_000,
        ...(tls === undefined ? {} : { tls }),
      });
    } catch (err) {
      if (attempt > 60) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

interface Transport {
  readonly connection: ChaincodeConnection;
  /** Drops the stream from the chaincode's side. */
  drop(): Promise<void>;
  close(): Promise<void>;
}

async function inProcess(): Promise<Transport> {
  const connection = await startInProcessChaincode({ name: NAME, mspId: PEER_MSP, contracts });
  return { connection, drop: () => connection.close(), close: () => connection.close() };
}

/** Whether something accepts TCP connections on loopback `port` now (a connect, which cannot take the port). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

async function chaincodeService(): Promise<Transport & { restart(): Promise<void> }> {
  const port = await freePort();
  let child = startServer(port);
  const connection = await connectWhenUp(port);
  const drop = async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    connection,
    drop,
    /** Drops it, starts a new server on the same port, and resolves once that one listens. */
    restart: async () => {
      await drop();
      const restarted = startServer(port);
      child = restarted;
      // A new process: seconds when the machine is loaded, which the redial under test should not have to outwait.
      await eventually(
        async () => {
          if (restarted.exitCode !== null)
            throw new Error(`the restarted chaincode server exited (${String(restarted.exitCode)})`);
          return (await accepts(port)) ? true : undefined;
        },
        { what: `the chaincode server listening again on ${String(port)}`, timeoutMs: 120_000, intervalMs: 100 },
      );
    },
    close: async () => {
      await connection.close();
      child.kill('SIGKILL');
    },
  };
}

const results = new Map<string, Map<string, SimulationResult>>();

describe.each([
  ['in-process', inProcess],
  ['chaincode-as-a-service', chaincodeService],
] as const)('chaincode over %s', (transportName, start) => {
  let transport: Transport;
  const recorded = new Map<string, SimulationResult>();
  results.set(transportName, recorded);

  beforeAll(async () => {
    transport = await start();
  });
  afterAll(async () => {
    await transport.close();
  });

  async function run(seed: string, args: string[], state = committedState()): Promise<SimulationResult> {
    const result = await transport.connection.execute(invocationOf(client, CHANNEL, NAME, args, seed), state);
    recorded.set(seed, result);
    return result;
  }
  const text = (result: SimulationResult) => Buffer.from(result.response.payload).toString();

  it('reads committed state only: a put is not visible to a later get in the same transaction', async () => {
    const result = await run('ryw', ['PutThenGet', 'alpha', 'new-alpha']);
    expect(result.response.status).toBe(200);
    expect(text(result)).toBe('committed-alpha');
    expect(readRwset(result.rwset).namespaces).toEqual([
      {
        namespace: NAME,
        reads: [{ key: 'alpha', version: v(3, 1) }],
        rangeQueries: [],
        writes: [{ key: 'alpha', isDelete: false, value: 'new-alpha' }],
      },
    ]);
  });

  it('records a missing key as a read without version', async () => {
    const result = await run('missing', ['Get', 'nothing']);
    expect(text(result)).toBe('');
    expect(readRwset(result.rwset).namespaces[0]?.reads).toEqual([{ key: 'nothing' }]);
  });

  it('records a delete as a write with isDelete', async () => {
    const result = await run('delete', ['Delete', 'beta']);
    expect(result.response.status).toBe(200);
    expect(readRwset(result.rwset).namespaces[0]?.writes).toEqual([{ key: 'beta', isDelete: true, value: '' }]);
  });

  it('serves partial composite-key ranges in UTF-8 byte order and records the range for phantom checks', async () => {
    const result = await run('composite', ['ListComposite', 'loan', 'org1']);
    expect(JSON.parse(text(result))).toEqual([
      { objectType: 'loan', attributes: ['org1', 'x'], value: 'org1-x' },
      { objectType: 'loan', attributes: ['org1', 'y'], value: 'org1-y' },
    ]);
    expect(readRwset(result.rwset).namespaces[0]?.rangeQueries).toEqual([
      {
        startKey: '\u0000loan\u0000org1\u0000',
        endKey: '\u0000loan\u0000org1\u0000\u{10FFFF}',
        exhausted: true,
        reads: ['\u0000loan\u0000org1\u0000x\u0000', '\u0000loan\u0000org1\u0000y\u0000'],
      },
    ]);
  });

  it('orders keys above U+FFFF after U+FFFD, as LevelDB does, with an empty start key becoming \\x01', async () => {
    const result = await run('byte-order', ['Range', '', '']);
    const keys = (JSON.parse(text(result)) as { key: string }[]).map((entry) => entry.key);
    expect(keys.slice(-2)).toEqual(['\uFFFDreplacement', '\u{1F600}emoji']);
    expect(keys).not.toContain('\u0000loan\u0000org1\u0000x\u0000');
    expect(readRwset(result.rwset).namespaces[0]?.rangeQueries[0]).toMatchObject({
      startKey: '\u0001',
      endKey: '',
      exhausted: true,
    });
  });

  it('paginates a range with a bookmark', async () => {
    const first = await run('page-1', ['Page', 'page', 'page~', '3', '']);
    expect(JSON.parse(text(first))).toEqual({
      keys: ['page0', 'page1', 'page2'],
      metadata: { bookmark: 'page3', fetchedRecordsCount: 3 },
    });
    expect(readRwset(first.rwset).namespaces[0]?.rangeQueries).toEqual([
      { startKey: 'page', endKey: 'page2', exhausted: false, reads: ['page0', 'page1', 'page2'] },
    ]);
    const last = await run('page-3', ['Page', 'page', 'page~', '3', 'page6']);
    expect(JSON.parse(text(last))).toEqual({ keys: ['page6'], metadata: { bookmark: '', fetchedRecordsCount: 1 } });
  });

  it('streams large ranges in batches of 100', async () => {
    const state = committedState();
    for (let i = 0; i < 250; i++) state.set(NAME, `bulk${String(i).padStart(3, '0')}`, `b${i}`, v(8, i));
    const result = await run('bulk', ['Range', 'bulk', 'bulk~'], state);
    expect(JSON.parse(text(result))).toHaveLength(250);
    expect(readRwset(result.rwset).namespaces[0]?.rangeQueries[0]?.reads).toHaveLength(250);
  });

  it('returns the last event the chaincode set', async () => {
    const result = await run('event', ['Emit', 'LoanIssued', '{"id":1}']);
    expect(result.event?.eventName).toBe('LoanIssued');
    expect(Buffer.from(result.event?.payload ?? []).toString()).toBe('{"id":1}');
  });

  it('reports a thrown error as status 500 with its message', async () => {
    const result = await run('fail', ['Fail', 'loan not found']);
    expect(result.response).toMatchObject({ status: 500, message: 'loan not found' });
  });

  it("gives the contract the creator's identity and the peer's MSP", async () => {
    const invocation = invocationOf(client, CHANNEL, NAME, ['WhoAmI'], 'whoami');
    const result = await run('whoami', ['WhoAmI']);
    expect(JSON.parse(text(result))).toEqual({
      mspId: 'Org1MSP',
      id: 'x509::/C=CN/L=Test/O=Org1MSP/OU=client/CN=User1::/C=CN/L=Test/O=Org1MSP/CN=ca.Org1MSP',
      peerMspId: PEER_MSP,
      txId: invocation.txId,
      channelId: CHANNEL,
    });
  });

  it("answers history and rich queries with Fabric's LevelDB errors", async () => {
    const history = await run('history', ['History', 'alpha']);
    expect(history.response.status).toBe(500);
    expect(history.response.message).toMatch(
      /GET_HISTORY_FOR_KEY failed: transaction ID: [0-9a-f]{64}: history database is not enabled/,
    );
    const rich = await run('rich', ['RichQuery', '{"selector":{}}']);
    expect(rich.response.message).toMatch(
      /GET_QUERY_RESULT failed: transaction ID: [0-9a-f]{64}: ExecuteQuery not supported for leveldb/,
    );
  });

  it('runs concurrent invocations on one stream, each with its own rwset', async () => {
    const keys = ['c0', 'c1', 'c2', 'c3', 'c4'];
    const all = await Promise.all(keys.map((key) => run(`concurrent-${key}`, ['Put', key, `value-${key}`])));
    all.forEach((result, i) => {
      expect(readRwset(result.rwset).namespaces[0]?.writes).toEqual([
        { key: keys[i], isDelete: false, value: `value-${keys[i] ?? ''}` },
      ]);
    });
  });

  it('fails an aborted invocation with ABORTED', async () => {
    const controller = new AbortController();
    const pending = transport.connection.execute(
      invocationOf(client, CHANNEL, NAME, ['Hang'], 'abort'),
      committedState(),
      {
        signal: controller.signal,
      },
    );
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('fails in-flight invocations with "chaincode stream terminated" when the stream drops', async () => {
    const outcome = transport.connection
      .execute(invocationOf(client, CHANNEL, NAME, ['Hang'], 'drop'), committedState())
      .catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await transport.drop();
    const err = await outcome;
    expect(err).toBeInstanceOf(ChaincodeError);
    expect(err).toMatchObject({ code: 'STREAM_TERMINATED', message: 'chaincode stream terminated' });
  });
});

describe('chaincode-as-a-service after a drop', () => {
  it('redials on the next invocation', async () => {
    const transport = await chaincodeService();
    try {
      await transport.restart();
      let result: SimulationResult | undefined;
      for (let attempt = 0; result === undefined; attempt++) {
        try {
          result = await transport.connection.execute(
            invocationOf(client, CHANNEL, NAME, ['Get', 'alpha'], 'redial'),
            committedState(),
          );
        } catch (err) {
          if (attempt > 40 || !(err instanceof ChaincodeError) || err.code !== 'NOT_CONNECTED') throw err;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      expect(Buffer.from(result.response.payload).toString()).toBe('committed-alpha');
    } finally {
      await transport.close();
    }
  }, 180_000);
});

describe('chaincode-as-a-service over mutual TLS', () => {
  it('connects with the TLS root and a client certificate, and is refused without one', async () => {
    const tls = await createTlsMaterial();
    const dir = await mkdtemp(join(tmpdir(), 'ccaas-tls-'));
    const file = async (name: string, pem: string) => {
      await writeFile(join(dir, name), pem);
      return join(dir, name);
    };
    const port = await freePort();
    const child = startServer(port, [
      '--chaincode-tls-cert-file',
      await file('server.pem', tls.serverCertPem),
      '--chaincode-tls-key-file',
      await file('server.key', tls.serverKeyPem),
      '--chaincode-tls-client-cacert-file',
      await file('ca.pem', tls.caPem),
    ]);
    try {
      const connection = await connectWhenUp(port, {
        rootCert: tls.caPem,
        clientCert: tls.clientCertPem,
        clientKey: tls.clientKeyPem,
      });
      const result = await connection.execute(
        invocationOf(client, CHANNEL, NAME, ['Get', 'alpha'], 'tls'),
        committedState(),
      );
      expect(Buffer.from(result.response.payload).toString()).toBe('committed-alpha');
      await connection.close();
      await expect(
        connectChaincodeService({
          name: NAME,
          address: `127.0.0.1:${port}`,
          connectTimeoutMs: 2_000,
          tls: { rootCert: tls.caPem },
        }),
      ).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('in-process low-level chaincode', () => {
  it('runs a fabric-shim ChaincodeInterface and reports a throw from Invoke as status 500', async () => {
    interface Stub {
      getFunctionAndParameters(): { fcn: string; params: string[] };
      getState(key: string): Promise<Buffer>;
    }
    const connection = await startInProcessChaincode({
      name: NAME,
      mspId: PEER_MSP,
      chaincode: {
        Init: () => Promise.resolve({ status: 200 }),
        Invoke: async (stub) => {
          const { fcn, params } = (stub as Stub).getFunctionAndParameters();
          if (fcn !== 'get') throw new Error(`no function ${fcn}`);
          return { status: 200, payload: await (stub as Stub).getState(params[0] ?? '') };
        },
      },
    });
    try {
      const ok = await connection.execute(
        invocationOf(client, CHANNEL, NAME, ['get', 'beta'], 'raw-get'),
        committedState(),
      );
      expect(Buffer.from(ok.response.payload).toString()).toBe('committed-beta');
      const thrown = await connection.execute(
        invocationOf(client, CHANNEL, NAME, ['put'], 'raw-throw'),
        committedState(),
      );
      expect(thrown.response).toMatchObject({ status: 500, message: 'no function put' });
    } finally {
      await connection.close();
    }
  });
});

describe('in-process chaincode messages', () => {
  it('endorse the event a contract set, even if it overwrites the buffer once the invocation returned', async () => {
    const reused = Buffer.from('first event');
    interface Stub {
      setEvent(name: string, payload: Buffer): void;
    }
    const connection = await startInProcessChaincode({
      name: NAME,
      mspId: PEER_MSP,
      chaincode: {
        Init: () => Promise.resolve({ status: 200 }),
        Invoke: (stub) => {
          (stub as Stub).setEvent('Reused', reused);
          // Runs after the shim has written COMPLETED and before the peer side has read it.
          setImmediate(() => reused.write('later value'));
          return Promise.resolve({ status: 200, payload: Buffer.from('ok') });
        },
      },
    });
    try {
      const result = await connection.execute(
        invocationOf(client, CHANNEL, NAME, ['emit'], 'reused-event'),
        committedState(),
      );
      expect(result.event?.eventName).toBe('Reused');
      expect(Buffer.from(result.event?.payload ?? []).toString()).toBe('first event');
      expect(reused.toString()).toBe('later value');
    } finally {
      await connection.close();
    }
  });
});

describe('in-process chaincode execute timeout', () => {
  it('fails with TIMEOUT after executeTimeoutMs', async () => {
    const connection = await startInProcessChaincode({ name: NAME, mspId: PEER_MSP, contracts, executeTimeoutMs: 100 });
    try {
      await expect(
        connection.execute(invocationOf(client, CHANNEL, NAME, ['Hang'], 'timeout'), committedState()),
      ).rejects.toMatchObject({
        code: 'TIMEOUT',
        message: 'timeout expired while executing transaction',
      });
    } finally {
      await connection.close();
    }
  });
});

describe('both transports', () => {
  it('produce identical simulation results', () => {
    const inProc = results.get('in-process');
    const service = results.get('chaincode-as-a-service');
    expect(inProc?.size).toBeGreaterThan(10);
    expect(service).toEqual(inProc);
  });
});
