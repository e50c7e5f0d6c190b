import { describe, expect, it } from 'vitest';
import { sha256 } from '../../crypto/index.ts';
import { blockDataHash, blockHeaderBytes, blockHeaderHash } from './block-hash.ts';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('blockHeaderHash', () => {
  it('matches a header hash captured from a Fabric 2.5.15 network (GetChainInfo at height 29, block 28)', () => {
    // Provenance: a public QSCC golden test (TestBlockHeaderHashGolden) recording Fabric 2.5.15's CurrentBlockHash.
    const header = {
      number: 28,
      previousHash: hex('003ef1053b17f9cf286bd087f03dbd72cddb7c1fb8f2e680128c32e5c6db6b8d'),
      dataHash: hex('9cd1500e262501b40b0c9c7dba2dc17fd7282d3b9f91c04f26f6564d774d3655'),
    };
    expect(blockHeaderHash(header).toString('hex')).toBe(
      '5f896f60ee4a5a755dacd92ba162a707299621442683754c2469de8a123c43da',
    );
  });

  it('encodes protoutil TestNewBlock header as the DER that openssl asn1parse reads back', () => {
    // Fabric protoutil/blockutils_test.go TestNewBlock: number 0, previous "datahash", data [[0,1,2]];
    // bytes checked by hand with `openssl asn1parse -inform DER`: SEQUENCE { INTEGER 0, OCTET STRING, OCTET STRING }.
    const dataHash = blockDataHash([Uint8Array.of(0, 1, 2)]);
    const der = blockHeaderBytes({ number: 0, previousHash: Buffer.from('datahash'), dataHash });
    expect(der.toString('hex')).toBe(
      '302f020100' + '0408' + Buffer.from('datahash').toString('hex') + '0420' + dataHash.toString('hex'),
    );
    expect(blockHeaderHash({ number: 0, previousHash: Buffer.from('datahash'), dataHash }).toString('hex')).toBe(
      '7d9bf4ccd0665d7ebec25ea15ad7872bb1b5392858fd7f21123b69e1a057d8ee',
    );
  });

  it('adds a leading zero to numbers with the top bit set and handles MaxUint64', () => {
    const der = blockHeaderBytes({ number: 0x80, previousHash: new Uint8Array(), dataHash: new Uint8Array() });
    expect(der.toString('hex')).toBe('3008' + '02020080' + '0400' + '0400');
    const max = blockHeaderBytes({
      number: 2n ** 64n - 1n,
      previousHash: new Uint8Array(),
      dataHash: new Uint8Array(),
    });
    expect(max.subarray(2, 13).toString('hex')).toBe('020900ffffffffffffffff');
  });

  it('uses the DER long length form for fields of 128 bytes or more', () => {
    const der = blockHeaderBytes({ number: 1, previousHash: new Uint8Array(200), dataHash: new Uint8Array() });
    expect(der.subarray(0, 6).toString('hex')).toBe('3081d0' + '020101');
    expect(der.subarray(6, 9).toString('hex')).toBe('0481c8');
  });
});

describe('blockDataHash', () => {
  it('is SHA-256 of the plain concatenation, not a Merkle tree', () => {
    const a = Uint8Array.of(1, 2);
    const b = Uint8Array.of(3);
    expect(blockDataHash([a, b])).toEqual(sha256(Uint8Array.of(1, 2, 3)));
    expect(blockDataHash([])).toEqual(sha256(new Uint8Array()));
  });
});
