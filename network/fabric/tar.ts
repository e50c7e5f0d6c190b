/**
 * A POSIX ustar archive of regular files, gzip-compressed: the format `peer lifecycle chaincode package` writes
 * and Fabric's external builders read (core/chaincode/persistence/chaincode_package.go reads it with Go's
 * archive/tar). Only what a chaincode package needs: flat names, mode 0644, fixed mtime so the bytes — and the
 * package ID, a hash of them — do not change between runs.
 */
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  /** Path inside the archive (ASCII, at most 100 bytes: chaincode packages hold short flat names). */
  readonly name: string;
  readonly content: Uint8Array | string;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width-1 octal digits then NUL, as GNU and Go's archive/tar write numeric fields
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number): Buffer {
  if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(name) || Buffer.byteLength(name) > 100) {
    throw new RangeError(`tar entry name must be printable ASCII of at most 100 bytes, got ${JSON.stringify(name)}`);
  }
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 'ascii');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii'); // mtime: the epoch, for reproducible bytes
  h.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  h.write('0', 156, 'ascii'); // regular file
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** The tar bytes, uncompressed: entries in the order given, then two zero blocks. */
export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content);
    parts.push(header(entry.name, content.length), content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export function tarGz(entries: readonly TarEntry[]): Buffer {
  return gzipSync(tar(entries));
}
