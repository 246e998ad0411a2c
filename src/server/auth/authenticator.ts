import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ApiTokens } from './api-tokens';
import { JwtVerifier, type JwtSettings } from './jwt';
import type { AuthOutcome } from './outcome';
import { certificateCommonName, certificateUserName } from './user-names';

export interface AuthSettings {
  /** `user:token` pairs (--api-token). */
  apiTokens?: readonly string[];
  /** `user sha256hex` lines: the tokens file's, or what serve passes its workers for apiTokens. */
  apiTokenDigests?: readonly string[];
  /** The tokens file, named even when it lists nobody: an empty file must lock everyone out, not turn authentication off. */
  apiTokensFile?: string;
  jwt?: JwtSettings;
  /** The HTTPS server asks for client certificates signed by --client-ca; a trusted one's CN is the user. */
  clientCertificates?: boolean;
}

/**
 * Who sent an HTTP request. A bearer token is an API token or, when it has a JWT's shape
 * and an issuer is configured, a JWT; a request with a bearer token stands or falls by it,
 * whatever certificate came with it. Without one, a client certificate signed by the
 * configured CA names the user. Each method names users in its own namespace (user-names.ts).
 */
export class Authenticator {
  private readonly tokens: ApiTokens;
  private readonly jwt: JwtVerifier | undefined;

  constructor(private readonly settings: AuthSettings) {
    this.tokens = ApiTokens.from(settings.apiTokens ?? [], settings.apiTokenDigests ?? [], settings.apiTokensFile ?? 'api tokens');
    this.jwt = settings.jwt ? new JwtVerifier(settings.jwt) : undefined;
  }

  /** Whether any method is configured: without one every request runs as the default user. */
  static configured(settings: AuthSettings): boolean {
    return (settings.apiTokens?.length ?? 0) > 0 || (settings.apiTokenDigests?.length ?? 0) > 0 || settings.apiTokensFile !== undefined
      || settings.jwt !== undefined || settings.clientCertificates === true;
  }

  async authenticate(req: IncomingMessage): Promise<AuthOutcome> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
      if (!match) return { status: 401, reason: 'the Authorization header must be "Bearer <token>"' };
      return this.bearer(match[1] as string);
    }
    if (this.settings.clientCertificates) return clientCertificateUser(req.socket as TLSSocket);
    return { status: 401, reason: 'authentication required: send Authorization: Bearer <token>' };
  }

  private async bearer(token: string): Promise<AuthOutcome> {
    const user = this.tokens.userFor(token);
    if (user !== undefined) return { user, method: 'api-token' };
    if (this.jwt && looksLikeJwt(token)) return this.jwt.verify(token);
    return { status: 401, reason: 'the bearer token is not valid' };
  }
}

function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]*\.[\w-]*$/.test(token);
}

function clientCertificateUser(socket: TLSSocket): AuthOutcome {
  if (typeof socket.getPeerCertificate !== 'function') return { status: 401, reason: 'authentication required' };
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return { status: 401, reason: 'authentication required: a client certificate or Authorization: Bearer <token>' };
  if (!socket.authorized) return { status: 401, reason: 'the client certificate is not signed by the trusted CA' };
  const cn = certificateCommonName(cert.subject?.CN);
  if (cn === undefined) return { status: 401, reason: 'the client certificate must have exactly one CN' };
  return { user: certificateUserName(cn), method: 'client-certificate' };
}
