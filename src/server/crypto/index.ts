/** The crypto engine: pure functions over bytes and KeyObjects, no KMIP knowledge. */
export { symmetricEncrypt, symmetricDecrypt, type SymmetricParams, type SymmetricResult, type SymmetricAlgorithm, type SymmetricMode } from './symmetric';
export { rsaEncrypt, rsaDecrypt, sign, verify, deriveSharedSecret, type RsaEncryption, type SignParams, type SignInput, type SignatureScheme } from './asymmetric';
export { hash, hmac, hmacVerify, hkdf, pbkdf2, type HashAlgorithm } from './digest';
export { generateKeyPair, generateSymmetricKey, type KeyPairGeneration } from './keygen';
export { randomBytes } from './random';
