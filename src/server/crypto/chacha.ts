import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { bad, checkTag, invalid, ivOf, run, type SymmetricParams, type SymmetricResult } from './symmetric-common';

/**
 * node's 'chacha20' takes a 16-byte block: a 32-bit little-endian block counter, then a
 * 96-bit nonce. A 12-byte (RFC 8439) nonce starts at block 0; an 8-byte nonce is the
 * original 64-bit-nonce ChaCha20 (64-bit counter from 0), which is the same block with
 * four more zero bytes — what the Cosmian KAT sends and expects. 16 bytes are taken as
 * counter‖nonce verbatim.
 */
function chacha20Block(nonce: Buffer): Buffer {
  if (nonce.length === 16) return nonce;
  if (nonce.length !== 8 && nonce.length !== 12) throw invalid(`a ChaCha20 nonce is 8, 12 or 16 bytes, not ${nonce.length}`);
  return Buffer.concat([Buffer.alloc(16 - nonce.length), nonce]);
}

/** ChaCha20-Poly1305 (RFC 8439: 32-byte key, 12-byte nonce, 16-byte tag) and plain ChaCha20. */
export function chachaEncrypt(p: SymmetricParams): SymmetricResult {
  if (p.algorithm === 'ChaCha20Poly1305') {
    if (p.key.length !== 32) throw bad(`a ChaCha20-Poly1305 key is 32 bytes, not ${p.key.length}`);
    if (p.tagLength !== undefined && p.tagLength !== 16) throw bad('the ChaCha20-Poly1305 tag is 16 bytes');
    const iv = ivOf(p, 12, 'ChaCha20-Poly1305');
    const c = createCipheriv('chacha20-poly1305', p.key, iv, { authTagLength: 16 });
    if (p.aad) c.setAAD(p.aad, { plaintextLength: p.data.length });
    const data = run(c, p.data, 'ChaCha20-Poly1305 encryption');
    return { data, iv, tag: c.getAuthTag() };
  }
  if (p.algorithm === 'ChaCha20') {
    if (p.key.length !== 32) throw bad('a ChaCha20 key is 32 bytes');
    const iv = p.iv ?? randomBytes(12);
    const block = chacha20Block(iv);
    return { data: run(createCipheriv('chacha20', p.key, block), p.data, 'ChaCha20'), iv };
  }
  throw new KmipError('Feature_Not_Supported', `algorithm ${String(p.algorithm)} is not supported`);
}

export function chachaDecrypt(p: SymmetricParams & { tag?: Buffer }): Buffer {
  if (p.algorithm === 'ChaCha20Poly1305') {
    if (p.key.length !== 32) throw bad('a ChaCha20-Poly1305 key is 32 bytes');
    if (!p.iv || !p.tag) throw new KmipError('Missing_Data', 'ChaCha20-Poly1305 decryption needs the nonce and the tag');
    if (p.iv.length !== 12) throw invalid(`ChaCha20-Poly1305 needs a 12-byte nonce, not ${p.iv.length}`);
    const d = createDecipheriv('chacha20-poly1305', p.key, p.iv, { authTagLength: 16 });
    d.setAuthTag(checkTag(p.tag, (n) => n === 16, 'ChaCha20-Poly1305'));
    if (p.aad) d.setAAD(p.aad, { plaintextLength: p.data.length });
    return run(d, p.data, 'ChaCha20-Poly1305 authentication');
  }
  if (p.algorithm === 'ChaCha20') {
    if (p.key.length !== 32) throw bad('a ChaCha20 key is 32 bytes');
    if (!p.iv) throw new KmipError('Missing_Initialization_Vector', 'ChaCha20 decryption needs the nonce');
    return run(createDecipheriv('chacha20', p.key, chacha20Block(p.iv)), p.data, 'ChaCha20');
  }
  throw new KmipError('Feature_Not_Supported', `algorithm ${String(p.algorithm)} is not supported`);
}
