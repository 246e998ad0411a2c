/** Public-key operations: RSA encryption, signatures, key agreement. */
export { rsaEncrypt, rsaDecrypt, type RsaEncryption } from './rsa';
export { sign, verify, type SignParams, type SignInput, type SignatureScheme } from './signature';
export { deriveSharedSecret } from './ecdh';
