/**
 * What a `lianxin` run loads (command.ts): every run defines every command, so a command's definition loads only
 * commander and the CLI's light modules, and each command imports what it runs when it runs. Checked on the real
 * process, `node --import tsx node/cli/main.ts`, with a module-resolution hook that lists every module resolved:
 * loading the node's whole graph (gRPC, Fabric, LevelDB, libp2p, x509) cost `lianxin --help` ≈3 s of CPU.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RECORD_RULES } from '../records/index.ts';
import { DEFAULT_USCC_MODE } from './constants.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TESTDATA = 'node/receipts/testdata';

/**
 * Registered before tsx: prints every resolved URL to stderr when the process exits, one per line
 * (module.registerHooks: Node ≥ 22.15; the project runs its pinned 22.23).
 */
const TRACE_HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
import { writeSync } from 'node:fs';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
process.on('exit', () => writeSync(2, [...seen].map((u) => 'resolved ' + u + '\\n').join('')));
`)}`;

/** Packages no command needs before it runs, and that `verify` (offline) never needs. */
const NODE_PACKAGES = [
  '@grpc/grpc-js',
  '@grpc/proto-loader',
  '@hyperledger/fabric-gateway',
  '@hyperledger/fabric-protos',
  'classic-level',
  'libp2p',
  '@libp2p/',
  '@peculiar/x509',
  'prom-client',
  'pino',
];
/** Also not needed to define the commands: read a profile (yaml, zod), decode protobuf (protobufjs). */
const DEFINITION_EXTRA = ['yaml', 'zod', 'protobufjs'];

async function modulesLoadedBy(args: readonly string[]): Promise<{ code: number; packages: Set<string> }> {
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', TRACE_HOOK, '--import', 'tsx', 'node/cli/main.ts', ...args],
      { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, maxBuffer: 16 * 1024 * 1024 },
      (err, _stdout, stderrText) => {
        if (err && typeof err.code !== 'number') reject(new Error(err.message, { cause: err }));
        else resolve({ code: typeof err?.code === 'number' ? err.code : 0, stderr: stderrText });
      },
    );
  });
  const packages = new Set<string>();
  for (const line of stderr.split('\n')) {
    const url = /^resolved (.*)$/.exec(line)?.[1];
    const name = url === undefined ? undefined : /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (name !== undefined) packages.add(name);
  }
  return { code, packages };
}

const loadedOf = (packages: Set<string>, names: readonly string[]) =>
  [...packages].filter((p) => names.some((n) => (n.endsWith('/') ? p.startsWith(n) : p === n))).sort();

describe('lianxin start-up: each command loads only what it uses', () => {
  it('`lianxin --help` loads commander and no node, ledger, protobuf or YAML package', async () => {
    const { code, packages } = await modulesLoadedBy(['--help']);
    expect(code).toBe(0);
    expect(packages).toContain('commander');
    expect(loadedOf(packages, [...NODE_PACKAGES, ...DEFINITION_EXTRA])).toEqual([]);
  });

  it('`lianxin ingest --help` (every command defined, the ingest one asked for) loads none of them either', async () => {
    const { code, packages } = await modulesLoadedBy(['ingest', '--help']);
    expect(code).toBe(0);
    expect(loadedOf(packages, [...NODE_PACKAGES, ...DEFINITION_EXTRA])).toEqual([]);
  });

  it('`lianxin verify` verifies offline without loading gRPC, Fabric, LevelDB or libp2p', async () => {
    const { code, packages } = await modulesLoadedBy([
      'verify',
      `${TESTDATA}/credit-record-attestation.v2.binpb`,
      '--bundle',
      `${TESTDATA}/trust-bundle.for-attestation-v2.json`,
      '--at',
      '2026-11-24T00:00:00Z',
    ]);
    expect(code).toBe(0);
    expect(loadedOf(packages, NODE_PACKAGES)).toEqual([]);
  });

  it('`lianxin ingest` loads its client parts only: no Fabric, LevelDB, libp2p or x509', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-start-up-'));
    try {
      const csv = join(dir, 'one.csv');
      await writeFile(csv, 'subject,kind,version,content_type,content\n91310000000000000U,loan,1,text/plain,x\n');
      // Nothing listens on port 9 (discard): the run loads everything it would use, then fails to connect.
      const { code, packages } = await modulesLoadedBy(['ingest', csv, '--node', '127.0.0.1:9', '--tls-ca', csv]);
      expect(code).toBe(1);
      expect(packages).toContain('@grpc/grpc-js');
      expect(
        loadedOf(
          packages,
          NODE_PACKAGES.filter((p) => !p.startsWith('@grpc/')),
        ),
      ).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("shows the node's own default --uscc-mode", () => {
    expect(DEFAULT_USCC_MODE).toBe(DEFAULT_RECORD_RULES.usccMode);
  });
});
