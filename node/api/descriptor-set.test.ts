/**
 * The committed descriptor set against its sources: what buf builds from proto/ now, and what protoc (the
 * reference compiler, a Debian package that .ci/run installs) makes of the same files.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { apiFileDescriptorProtos, DESCRIPTOR_SET_PATH, splitDescriptorSet } from './descriptor-set.ts';
import { PROTO_FILES, PROTO_ROOT } from './proto-files.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const hasProtoc = spawnSync('protoc', ['--version']).status === 0;

/** The API as last released (`npm run proto:release`). */
const RELEASED_IMAGE = join(ROOT, 'proto/released/lianxin-v1.binpb');

/** FileDescriptorProto.name: field 1, the first the compilers write. */
const fileName = (file: Buffer): string => protobuf.Reader.create(file).skip(1).string();

/** FileDescriptorProto.source_code_info (descriptor.proto): the comments and spans protoc omits by default. */
const SOURCE_CODE_INFO = 9;

/** `message` without its top-level field `number`, every other field's bytes kept in order. */
function withoutField(message: Buffer, number: number): Buffer {
  const reader = protobuf.Reader.create(message);
  const kept: Buffer[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    reader.skipType(tag & 7);
    if (tag >>> 3 !== number) kept.push(message.subarray(start, reader.pos));
  }
  return Buffer.concat(kept);
}

/** Every file under `dir` by relative path. */
async function contents(dir: string): Promise<Map<string, Buffer>> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
  const entries = await Promise.all(
    files.map(
      async (f) => [relative(dir, join(f.parentPath, f.name)), await readFile(join(f.parentPath, f.name))] as const,
    ),
  );
  return new Map(entries.sort(([a], [b]) => a.localeCompare(b)));
}

async function inTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'lianxin-descriptors-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the API descriptor set', () => {
  it('and the generated types are what npm run generate makes from proto/ now (run it after editing a .proto)', async () => {
    const committed = fileURLToPath(new URL('./generated', import.meta.url));
    const fresh = await inTempDir(async (dir) => {
      execFileSync('bash', ['scripts/generate-proto.sh', join(dir, 'generated')], { cwd: ROOT, stdio: 'pipe' });
      return contents(join(dir, 'generated'));
    });
    expect(await contents(committed)).toEqual(fresh);
    expect(fresh.get('lianxin-v1.binpb')).toEqual(await readFile(DESCRIPTOR_SET_PATH));
  });

  it('holds lianxin.v1 and grpc.health.v1, each file after its imports', () => {
    const names = apiFileDescriptorProtos().map(fileName);
    // exchange.proto and audit.proto: the p2p report exchange's and bundle fetch's messages (node/p2p), served so
    // other toolchains can speak them.
    expect([...names].sort()).toEqual(
      [...PROTO_FILES, 'lianxin/v1/exchange.proto', 'lianxin/v1/audit.proto', 'grpc/health/v1/health.proto'].sort(),
    );
    expect(names.indexOf('lianxin/v1/proofs.proto')).toBeLessThan(names.indexOf('lianxin/v1/node.proto'));
  });

  // CI installs protoc (.ci/run); elsewhere the check runs where protoc is.
  it.runIf(hasProtoc || process.env['CI'] !== undefined)(
    'matches what protoc compiles from the same files, source info aside',
    async () => {
      const compiled = await inTempDir(async (dir) => {
        const out = join(dir, 'protoc.binpb');
        execFileSync('protoc', ['-I.', `--descriptor_set_out=${out}`, ...PROTO_FILES], { cwd: PROTO_ROOT });
        return splitDescriptorSet(await readFile(out));
      });
      const served = apiFileDescriptorProtos()
        .map((file) => withoutField(file, SOURCE_CODE_INFO))
        .filter((file) => compiled.some((c) => c.equals(file)));
      expect(served).toHaveLength(PROTO_FILES.length);
      expect(compiled).toHaveLength(PROTO_FILES.length);
    },
  );

  it('as released (proto/released, what buf breaking checks against) holds every file of proto/lianxin', async () => {
    const sources = (await readdir(join(PROTO_ROOT, 'lianxin'), { recursive: true }))
      .filter((path) => path.endsWith('.proto'))
      .map((path) => `lianxin/${path}`);
    // A buf image (`npm run proto:release`) is a FileDescriptorSet on the wire (buf's own fields are in each file).
    const released = splitDescriptorSet(await readFile(RELEASED_IMAGE)).map(fileName);
    expect(sources.length).toBeGreaterThan(0);
    expect([...released].sort()).toEqual([...sources].sort());
  });

  it('refuses bytes that are not a FileDescriptorSet', () => {
    expect(() => splitDescriptorSet(Buffer.from([0x12, 0x00]))).toThrow(/not a FileDescriptorSet/);
  });
});
