import { createHash, createPublicKey, publicDecrypt, constants, timingSafeEqual, verify as nodeVerify, type Hash } from 'node:crypto';
import type { KmipOperations } from '../../kmip/client-operations';
import type { CryptoParams } from '../../kmip/requests';
import { CKR } from '../constants';
import { fail, kmipFailure } from '../errors';
import type { PublicKeyInfo } from '../key-material';
import type { KmsObject } from '../kms-object';
import { HASH_BY_MECHANISM, HASH_BY_MGF, HASHES, type HashName, type MechanismSpec, type SignatureKind } from '../mechanisms';
import type { Mechanism } from '../types';
import { derToRaw, rawToDer } from './ecdsa-signature';
import { InputBuffer, ResultCache } from './output';

/** DigestInfo prefixes (RFC 8017 section 9.2, note 1). */
const DIGEST_INFO: Readonly<Record<HashName, string>> = {
  SHA1: '3021300906052b0e03021a05000414',
  SHA224: '302d300d06096086480165030402040500041c',
  SHA256: '3031300d060960864801650304020105000420',
  SHA384: '3041300d060960864801650304020205000430',
  SHA512: '3051300d060960864801650304020305000440',
};

/** Messages up to this size are sent whole to a KMS that hashes them; longer ones as a digest. */
const SEND_WHOLE_LIMIT = 64 * 1024;

const HASH_BY_LENGTH: ReadonlyMap<number, HashName> = new Map(
  (Object.keys(HASHES) as HashName[]).map((h) => [HASHES[h].length, h]),
);

export type SignatureDirection = 'sign' | 'verify';

/** What the KMS is sent: the message itself, or a digest computed here. */
type Input = { data: Buffer } | { digested: Buffer };

/**
 * One signature or verification. Mechanisms that hash (SHA256_RSA_PKCS, ECDSA_SHA384...)
 * hash here, incrementally, and send the KMS only the digest; EdDSA and HMAC need the
 * whole message, which Update collects. Verification with a public key runs locally when
 * the slot allows it.
 */
export class SignatureOperation {
  private readonly kind: SignatureKind;
  private readonly params: CryptoParams;
  private readonly hash: Hash | undefined;
  private readonly input = new InputBuffer();
  private readonly cache = new ResultCache();
  private multiPart = false;

  constructor(
    readonly direction: SignatureDirection,
    spec: MechanismSpec,
    mechanism: Mechanism,
    private readonly key: KmsObject,
    private readonly kms: () => KmipOperations,
    private readonly keyBits: number,
    private readonly localPublicKey?: PublicKeyInfo,
  ) {
    this.kind = spec.signature as SignatureKind;
    this.params = signatureParams(this.kind, mechanism);
    const hashName = 'hash' in this.kind ? this.kind.hash : undefined;
    this.hash = hashName && this.kind.family !== 'hmac' ? createHash(HASHES[hashName].node) : undefined;
  }

  /** Signature length, known before any KMS call so that a length query costs nothing. */
  signatureLength(): number {
    switch (this.kind.family) {
      case 'rsa-pkcs1':
      case 'rsa-pss': return Math.ceil(this.keyBits / 8);
      case 'ecdsa': return 2 * Math.ceil(this.keyBits / 8);
      case 'eddsa': return this.keyBits > 255 ? 114 : 64;
      case 'hmac': return HASHES[this.kind.hash].length;
    }
  }

  update(data: Uint8Array): void {
    if (this.kind.family === 'rsa-pkcs1' && !this.kind.hash) fail(CKR.FUNCTION_NOT_SUPPORTED, 'CKM_RSA_PKCS signs in one part');
    if ((this.kind.family === 'ecdsa' || this.kind.family === 'rsa-pss') && !this.kind.hash) fail(CKR.FUNCTION_NOT_SUPPORTED, 'this mechanism signs a digest in one part');
    this.multiPart = true;
    if (this.hash) this.hash.update(data);
    else this.input.add(data);
  }

  /**
   * What goes to the signer. A short single-part message goes whole when the KMS will hash
   * it (sendData): the KMS then signs in OpenSSL in one step, where a digest it did not make
   * takes its slower pure-JavaScript path for ECDSA.
   */
  private collected(single: Uint8Array | undefined, sendData: boolean): Input {
    if (single !== undefined && this.multiPart) fail(CKR.OPERATION_ACTIVE, 'a multi-part operation is under way');
    if (this.hash && sendData && single !== undefined && single.length <= SEND_WHOLE_LIMIT) return { data: Buffer.from(single) };
    if (this.hash) {
      if (single !== undefined) this.hash.update(single);
      return { digested: this.hash.digest() };
    }
    if (single === undefined) return { data: this.input.take() };
    // Mechanisms without a hash: RSA_PKCS takes a DigestInfo, PSS and ECDSA take a digest.
    if (this.kind.family === 'ecdsa') return { digested: ecdsaInput(Buffer.from(single), this.keyBits) };
    if (this.kind.family === 'rsa-pkcs1' || this.kind.family === 'rsa-pss') return { digested: Buffer.from(single) };
    return { data: Buffer.from(single) };
  }

  /** Single-part (with data) or final (without). A length query answers from signatureLength(). */
  sign(single: Uint8Array | undefined): Promise<Buffer> {
    return this.cache.get(single ?? new Uint8Array(), () => this.remoteSign(this.collected(single, true)));
  }

  async verify(single: Uint8Array | undefined, signature: Uint8Array): Promise<void> {
    const local = this.localPublicKey !== undefined && (this.kind.family === 'eddsa' || this.kind.family === 'rsa-pkcs1');
    const input = this.collected(single, !local);
    // Every mechanism here has a fixed signature length (HMAC without _GENERAL is the full hash).
    if (signature.length !== this.signatureLength()) {
      fail(CKR.SIGNATURE_LEN_RANGE, `a signature of ${signature.length} bytes, expected ${this.signatureLength()}`);
    }
    const valid = local ? this.verifyLocally(input, Buffer.from(signature)) : await this.remoteVerify(input, Buffer.from(signature));
    if (!valid) fail(CKR.SIGNATURE_INVALID, 'the signature does not verify');
  }

  clear(): void {
    this.input.clear();
    this.cache.clear();
  }

  private checkDigest(input: Input): Input {
    if (!('digested' in input)) return input;
    if (this.kind.family === 'rsa-pss' && input.digested.length !== HASHES[hashOf(this.params)].length) {
      fail(CKR.DATA_LEN_RANGE, 'the PSS input must be a digest of the named hash');
    }
    if (this.kind.family === 'rsa-pkcs1' && !this.kind.hash && input.digested.length > Math.ceil(this.keyBits / 8) - 11) {
      fail(CKR.DATA_LEN_RANGE, 'too long for PKCS#1 v1.5 with this key');
    }
    return input;
  }

  /** The KMS needs to know which hash made an ECDSA digest only to check its length. */
  private requestParams(input: Input): CryptoParams {
    if (this.kind.family === 'ecdsa' && !this.kind.hash && 'digested' in input) {
      return { ...this.params, hashing: HASHES[HASH_BY_LENGTH.get(input.digested.length) as HashName].kmip };
    }
    return this.params;
  }

  private async remoteSign(input: Input): Promise<Buffer> {
    this.checkDigest(input);
    try {
      if (this.kind.family === 'hmac') return await this.kms().mac(this.key.uid, 'data' in input ? input.data : input.digested, this.params);
      const signature = await this.kms().sign(this.key.uid, input, this.requestParams(input));
      return this.kind.family === 'ecdsa' ? derToRaw(signature, Math.ceil(this.keyBits / 8)) : signature;
    } catch (e) {
      throw kmipFailure(e, 'key');
    }
  }

  private async remoteVerify(input: Input, signature: Buffer): Promise<boolean> {
    this.checkDigest(input);
    try {
      if (this.kind.family === 'hmac') {
        const expected = await this.kms().mac(this.key.uid, 'data' in input ? input.data : input.digested, this.params);
        return expected.length === signature.length && timingSafeEqual(expected, signature);
      }
      const sent = this.kind.family === 'ecdsa' ? rawToDer(signature) : signature;
      return await this.kms().verify(this.key.uid, input, sent, this.requestParams(input));
    } catch (e) {
      throw kmipFailure(e, 'verify');
    }
  }

  /** Public-key verification without the KMS: EdDSA, and RSA PKCS#1 v1.5 by recovering the DigestInfo. */
  private verifyLocally(input: Input, signature: Buffer): boolean {
    this.checkDigest(input);
    const info = this.localPublicKey as PublicKeyInfo;
    const key = createPublicKey({ key: info.spki, format: 'der', type: 'spki' });
    try {
      if (this.kind.family === 'eddsa' && 'data' in input) return nodeVerify(null, input.data, key, signature);
      if (this.kind.family === 'rsa-pkcs1' && 'digested' in input) {
        const expected = this.kind.hash ? Buffer.concat([Buffer.from(DIGEST_INFO[this.kind.hash], 'hex'), input.digested]) : input.digested;
        const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
        return recovered.length === expected.length && timingSafeEqual(recovered, expected);
      }
    } catch {
      return false;
    }
    fail(CKR.FUNCTION_FAILED, 'no local verifier for this mechanism');
  }
}

/**
 * CKM_ECDSA signs any input: ECDSA takes its leftmost bits up to the order's size. Padding
 * on the left (shorter input) or cutting on the right (longer) to the curve's size gives
 * the same integer, and a length the KMS accepts as a digest.
 */
function ecdsaInput(input: Buffer, keyBits: number): Buffer {
  const target = keyBits > 384 ? 64 : Math.ceil(keyBits / 8);
  if (input.length > target) {
    // P-521's order is not a whole number of bytes: cutting would need a bit shift.
    if (keyBits > 384) fail(CKR.DATA_LEN_RANGE, 'CKM_ECDSA on P-521 signs at most 64 bytes');
    return input.subarray(0, target);
  }
  return Buffer.concat([Buffer.alloc(target - input.length), input]);
}

function hashOf(params: CryptoParams): HashName {
  return (Object.keys(HASHES) as HashName[]).find((h) => HASHES[h].kmip === params.hashing) ?? 'SHA256';
}

function signatureParams(kind: SignatureKind, mechanism: Mechanism): CryptoParams {
  const p = mechanism.parameter;
  switch (kind.family) {
    case 'rsa-pkcs1':
      if (p.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'RSA PKCS#1 v1.5 takes no parameter');
      return { padding: 'PKCS1v15', ...(kind.hash ? { hashing: HASHES[kind.hash].kmip } : {}) };
    case 'rsa-pss': {
      if (p.kind !== 'pss') fail(CKR.MECHANISM_PARAM_INVALID, 'PSS needs CK_RSA_PKCS_PSS_PARAMS');
      const hash = HASH_BY_MECHANISM.get(p.hashAlg);
      const mgf = HASH_BY_MGF.get(p.mgf);
      if (!hash || !mgf) fail(CKR.MECHANISM_PARAM_INVALID, 'unsupported PSS hash or MGF');
      if (kind.hash && kind.hash !== hash) fail(CKR.MECHANISM_PARAM_INVALID, 'the PSS hash must match the mechanism');
      return { padding: 'PSS', hashing: HASHES[hash].kmip, maskGeneratorHashing: HASHES[mgf].kmip, saltLength: p.saltLength };
    }
    case 'ecdsa':
      if (p.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'ECDSA takes no parameter');
      return kind.hash ? { hashing: HASHES[kind.hash].kmip } : {};
    case 'eddsa':
      if (p.kind === 'eddsa' && (p.prehash || (p.context && p.context.length > 0))) fail(CKR.MECHANISM_PARAM_INVALID, 'only pure EdDSA without context is supported');
      if (p.kind !== 'none' && p.kind !== 'eddsa') fail(CKR.MECHANISM_PARAM_INVALID, 'EdDSA takes CK_EDDSA_PARAMS or nothing');
      return {};
    case 'hmac':
      if (p.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'HMAC takes no parameter');
      return { hashing: HASHES[kind.hash].kmip };
  }
}
