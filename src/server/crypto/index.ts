/** The crypto engine: pure functions over bytes and KeyObjects, no KMIP knowledge. */
export { symmetricEncrypt, symmetricDecrypt, type SymmetricParams, type SymmetricResult, type SymmetricAlgorithm, type SymmetricMode } from './symmetric';
export { rsaEncrypt, rsaDecrypt, sign, verify, deriveSharedSecret, type RsaEncryption, type SignParams, type SignInput, type SignatureScheme } from './asymmetric';
export { hash, hmac, hmacVerify, hkdf, kbkdfHmacCounter, pbkdf2, digestLength, type HashAlgorithm } from './digest';
export { generateKeyPair, generateSymmetricKey, type KeyPairGeneration, type KeyPair } from './keygen';
export {
  importPrivateKey, exportPrivateKey, importPublicKey, exportPublicKey, publicFromPrivate, describeKey,
  type PrivateKeyFormat, type PublicKeyFormat, type TransparentRsaPrivate, type TransparentRsaPrivateInput,
  type TransparentRsaPublic, type TransparentEcPrivate, type TransparentEcPublic, type KeyDescription,
} from './formats';
export { WEIERSTRASS, OKP, curveOid, curveFromOid, weierstrass, type WeierstrassCurve, type OkpKind } from './curves';
export { randomBytes } from './random';
export { hashAsync, hmacAsync, hmacVerifyAsync, symmetricDecryptAsync, symmetricEncryptAsync, OFFLOAD_MIN_BYTES } from './offload';
