/**
 * The compiled descriptors of the public API: generated/lianxin-v1.binpb, the FileDescriptorSet that
 * scripts/generate-proto.sh has buf build from proto/lianxin/v1 (the files buf lints and the node loads) plus
 * grpc/health/v1/health.proto. Server reflection serves these bytes, so a client in any runtime reads the files
 * protoc would have produced: real file names, map entry types, json_name, fully qualified type names.
 * descriptor-set.test.ts checks that the committed set is what the sources compile to.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const DESCRIPTOR_SET_PATH = fileURLToPath(new URL('./generated/lianxin-v1.binpb', import.meta.url));

/** FileDescriptorSet.file is field 1, length-delimited (google/protobuf/descriptor.proto). */
const FILE_TAG = (1 << 3) | 2;

let files: readonly Buffer[] | undefined;

/**
 * Each FileDescriptorProto of the committed set, as the compiler serialized it (sliced, never re-encoded), in
 * the set's order: every file after the files it imports.
 */
export function apiFileDescriptorProtos(): readonly Buffer[] {
  files ??= splitDescriptorSet(readFileSync(DESCRIPTOR_SET_PATH));
  return files;
}

/** The FileDescriptorProtos of a serialized FileDescriptorSet; anything else in it is an error. */
export function splitDescriptorSet(set: Uint8Array): Buffer[] {
  const reader = protobuf.Reader.create(set);
  const out: Buffer[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag !== FILE_TAG) throw new Error(`not a FileDescriptorSet: tag ${tag} at byte ${reader.pos}`);
    out.push(Buffer.from(reader.bytes()));
  }
  return out;
}
