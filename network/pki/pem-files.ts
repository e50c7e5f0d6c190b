/** Reading PEM files with errors that name the file. */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ExposedFileError, readPrivateFile } from '../fs/index.ts';
import { PkiError } from './errors.ts';

/**
 * The PEM blocks in `pem` that a private key's file may hold only one of (of two keys, Node.js and OpenSSL take the
 * first silently). An `EC PARAMETERS` block, as `openssl ecparam -genkey` writes before the key, is no second key.
 */
export const pemKeyBlocks = (pem: string | Buffer): number =>
  (typeof pem === 'string' ? pem : pem.toString('latin1')).match(/-----BEGIN (?!EC PARAMETERS-)[^-]+-----/g)?.length ??
  0;

export function parseCertificate(pem: string, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new PkiError('BAD_MATERIAL', `${file} is not a PEM certificate`, file, { cause: err });
  }
}

export function parsePrivateKey(pem: string | Buffer, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new PkiError('BAD_MATERIAL', `${file} is not a PEM private key`, file, { cause: err });
  }
}

/** A certificate and its private key. @throws PkiError `MATERIAL_INCONSISTENT` when the key is another's. */
export function parseKeyPair(
  certPem: string,
  certFile: string,
  keyPem: string | Buffer,
  keyFile: string,
): { certificate: X509Certificate; privateKey: KeyObject } {
  const certificate = parseCertificate(certPem, certFile);
  const privateKey = parsePrivateKey(keyPem, keyFile);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new PkiError('MATERIAL_INCONSISTENT', `${keyFile} is not the key of ${certFile}`, keyFile);
  }
  return { certificate, privateKey };
}

/**
 * A private key's PEM, or undefined when its file does not exist, once the file is known to be private (network/fs
 * readPrivateFile) and to hold no more than one key (pemKeyBlocks): the rules node/keys holds its own key files to.
 * @throws PkiError `KEY_EXPOSED` naming the file when it is open to other users, `BAD_MATERIAL` when it holds more
 * than one key.
 */
export async function readKeyIfExists(file: string): Promise<Buffer | undefined> {
  let pem: Buffer;
  try {
    pem = await readPrivateFile(file);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    if (err instanceof ExposedFileError) throw new PkiError('KEY_EXPOSED', err.message, file, { cause: err });
    throw err;
  }
  // Refused outright, not passed over as a file that is no key: which of its keys is meant is not known.
  const blocks = pemKeyBlocks(pem);
  if (blocks > 1) throw new PkiError('BAD_MATERIAL', `${file} holds ${blocks} PEM blocks, not one private key`, file);
  return pem;
}

/** @throws PkiError `MATERIAL_MISSING` when the file does not exist, and as readKeyIfExists. */
export async function readRequiredKey(file: string): Promise<Buffer> {
  const pem = await readKeyIfExists(file);
  if (pem === undefined) throw new PkiError('MATERIAL_MISSING', `${file} does not exist`, file);
  return pem;
}

/** The file's text, or undefined when it does not exist. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** @throws PkiError `MATERIAL_MISSING` when the file does not exist. */
export async function readRequired(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    if (isNotFound(err)) throw new PkiError('MATERIAL_MISSING', `${file} does not exist`, file, { cause: err });
    throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
