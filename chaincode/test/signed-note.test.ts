import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeDerSignature, encodeDerSignature, signP256 } from '../../network/crypto/index.ts';

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
import { kidOf, parseP256Spki, verifyP256LowS } from '../src/keys';
import { formatCheckpointBody, formatSignatureLine, parseCheckpoint } from '../src/signed-note';

const root = Buffer.alloc(32, 7);
const body = formatCheckpointBody('lianxin/ShanghaiAgencyMSP/0', 12n, root);
const sigLine = formatSignatureLine('lianxin/ShanghaiAgencyMSP/0', Buffer.from([1, 2, 3, 4]), Buffer.from([9, 9, 9]));

describe('parseCheckpoint (C2SP tlog-checkpoint in a signed note)', () => {
  it('parses origin, size, root and signature lines; the signed body ends with its newline', () => {
    const parsed = parseCheckpoint(`${body}\n${sigLine}${sigLine}`);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.checkpoint).toMatchObject({ origin: 'lianxin/ShanghaiAgencyMSP/0', size: 12n, body });
    expect(Buffer.from(parsed.checkpoint.rootHash)).toEqual(root);
    expect(parsed.checkpoint.signatures).toHaveLength(2);
    expect(Buffer.from(parsed.checkpoint.signatures[0]?.keyId ?? [])).toEqual(Buffer.from([1, 2, 3, 4]));
  });

  it('parses the golang/mod sumdb FormatTree golden body', () => {
    const parsed = parseCheckpoint(`go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\n${sigLine}`);
    expect(parsed.ok && parsed.checkpoint.size).toBe(123456789012n);
  });

  it.each([
    ['no blank line', `${body}${sigLine}`],
    ['no final newline', `${body}\n${sigLine.trimEnd()}`],
    ['size with a leading zero', `o\n012\n${root.toString('base64')}\n\n${sigLine}`],
    ['negative size', `o\n-1\n${root.toString('base64')}\n\n${sigLine}`],
    ['size beyond 64 bits', `o\n18446744073709551616\n${root.toString('base64')}\n\n${sigLine}`],
    ['short root', `o\n1\n${Buffer.alloc(31).toString('base64')}\n\n${sigLine}`],
    ['root not base64', `o\n1\n!!!!\n\n${sigLine}`],
    ['empty origin', `\n1\n${root.toString('base64')}\n\n${sigLine}`],
    ['hyphen instead of em dash', `${body}\n- name AQIDBAk=\n`],
    ['signature too short', `${body}\n\u2014 name AQID\n`],
    ['key name with +', `${body}\n\u2014 na+me AQIDBAkJ\n`],
    ['seventeen signatures', `${body}\n${sigLine.repeat(17)}`],
    // What Go's note.Open refuses as malformed: ASCII control characters but newline, invalid UTF-8, spaced names.
    ['a carriage return in the origin', `o\rx\n1\n${root.toString('base64')}\n\n${sigLine}`],
    ['a tab in an extension line', `${body}ext\tline\n\n${sigLine}`],
    ['a NUL in a signature name', `${body}\n\u2014 na\0me AQIDBAkJ\n`],
    ['an escape in an extension line', `${body}e\u001b\n\n${sigLine}`],
    ['a lone high surrogate in the origin', `o\ud800\n1\n${root.toString('base64')}\n\n${sigLine}`],
    ['a lone low surrogate in an extension line', `${body}\udc00\n\n${sigLine}`],
    ['a no-break space in a signature name', `${body}\n\u2014 na\u00a0me AQIDBAkJ\n`],
    ['an ideographic space in a signature name', `${body}\n\u2014 na\u3000me AQIDBAkJ\n`],
  ])('rejects %s', (_name, note) => {
    expect(parseCheckpoint(note).ok).toBe(false);
  });

  it.each([
    ['DEL, which Go allows', 'o\u007f'],
    ['a literal U+FFFD, which is valid UTF-8', 'o\ufffd'],
    ['a surrogate pair (one code point beyond the BMP)', 'o\ud83d\ude00'],
  ])('accepts an origin with %s', (_name, origin) => {
    const parsed = parseCheckpoint(`${formatCheckpointBody(origin, 1n, root)}\n${sigLine}`);
    expect(parsed.ok && parsed.checkpoint.origin).toBe(origin);
  });
});

describe('verifyP256LowS', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = parseP256Spki(publicKey.export({ format: 'der', type: 'spki' }));
  const message = Buffer.from(body);

  it('accepts a low-S signature from the project signer and rejects a different message', () => {
    if (key === undefined) throw new Error('key did not parse');
    const sig = signP256(privateKey, message);
    expect(verifyP256LowS(key, message, sig)).toBe(true);
    expect(verifyP256LowS(key, Buffer.from('other'), sig)).toBe(false);
  });

  it('rejects the high-S twin of a valid signature, as Fabric does', () => {
    if (key === undefined) throw new Error('key did not parse');
    const low = decodeDerSignature(signP256(privateKey, message));
    const high = encodeDerSignature({ r: low.r, s: P256_N - low.s });
    expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, high)).toBe(true);
    expect(verifyP256LowS(key, message, high)).toBe(false);
  });

  it('rejects malformed DER', () => {
    if (key === undefined) throw new Error('key did not parse');
    expect(verifyP256LowS(key, message, Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01]))).toBe(false);
  });

  it('parses only P-256 SPKI and names keys by SHA-256 of the SPKI DER', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' });
    expect(parseP256Spki(other)).toBeUndefined();
    expect(parseP256Spki(Buffer.from('garbage'))).toBeUndefined();
    expect(kidOf(Buffer.from(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
