import type { ContextStep, InitContextOptions, SecurityContext } from '../provider.js';
import {
  callAsync,
  ISC_REQ_CONNECTION,
  ISC_REQ_MUTUAL_AUTH,
  ISC_REQ_SEQUENCE_DETECT,
  SECBUFFER_TOKEN,
  SECBUFFER_VERSION,
  SECPKG_ATTR_CLIENT_SPECIFIED_TARGET,
  SECPKG_CRED_OUTBOUND,
  SECURITY_NATIVE_DREP,
  type SspiApi,
} from './api.js';
import { failure, type SspiFailureFactory } from './failure.js';
import { isSspiSuccess, SEC_E_OK, SEC_I_COMPLETE_AND_CONTINUE, SEC_I_COMPLETE_NEEDED, SEC_I_CONTINUE_NEEDED } from './status.js';

/** A credential or context handle as koffi passes it: two pointer-sized words. */
interface SecHandleValue {
  dwLower: number | bigint;
  dwUpper: number | bigint;
}

/** koffi.alloc memory: a pointer object koffi frees with `koffi.free`. */
type Native = unknown;

/**
 * One SSPI security context: AcquireCredentialsHandleW for the logged-on user (or a named principal),
 * then InitializeSecurityContextW for `HTTP/host`, called again with the proxy's reply token while
 * SSPI answers SEC_I_CONTINUE_NEEDED. Both run on libuv's pool (koffi's async calls): they may wait
 * for a domain controller. The output token goes into a buffer of the package's cbMaxToken that the
 * context allocates once; the token handed back is a copy, and the native memory is zeroed on dispose.
 */
export class SspiContext implements SecurityContext {
  readonly #api: SspiApi;
  readonly #options: InitContextOptions;
  readonly #packageName: string;
  readonly #maxTokenOf: (packageName: string) => number;
  #maxToken = 0;
  readonly #fail: SspiFailureFactory;
  #credential: SecHandleValue | undefined;
  #context: SecHandleValue | undefined;
  #outToken: Native | undefined;
  #outBuffer: Native | undefined;
  #outDesc: Native | undefined;
  #complete = false;
  #busy = false;
  #disposed = false;

  /** `maxTokenOf`: the package's cbMaxToken (QuerySecurityPackageInfoW), asked at the first step. */
  constructor(api: SspiApi, options: InitContextOptions, packageName: string, maxTokenOf: (packageName: string) => number, fail: SspiFailureFactory = failure(api)) {
    this.#api = api;
    this.#options = options;
    this.#packageName = packageName;
    this.#maxTokenOf = maxTokenOf;
    this.#fail = fail;
  }

  async step(input: Buffer | undefined): Promise<ContextStep> {
    if (this.#disposed) throw new Error('SspiContext: step() after dispose()');
    if (this.#busy) throw new Error('SspiContext: step() while a step is still running');
    if (this.#complete) throw new Error('SspiContext: step() on a complete context');
    if (this.#context !== undefined && input === undefined) throw new Error('SspiContext: a later step needs the reply token');
    this.#busy = true;
    try {
      if (this.#maxToken === 0) this.#maxToken = this.#maxTokenOf(this.#packageName);
      if (!this.#credential) this.#credential = await this.#acquire();
      // Nobody waits any more (a timeout disposed of it): no service ticket for no one.
      if (this.#disposed) throw new Error('SspiContext: disposed during the step');
      return await this.#initialize(input);
    } finally {
      this.#busy = false;
      // dispose() during the call left the release to the end of the call.
      if (this.#disposed) this.#release();
    }
  }

  async #acquire(): Promise<SecHandleValue> {
    // Explicit credentials (NTLM's DOMAIN\\user and password) instead of the logged-on user's.
    const { AcquireCredentialsHandleW } = this.#api;
    const credential: SecHandleValue = { dwLower: 0, dwUpper: 0 };
    const expiry = [0];
    const identity = this.#options.password ? authIdentity(this.#api, this.#options.password) : undefined;
    let status: number;
    try {
      status = await callAsync(
        AcquireCredentialsHandleW,
        identity ? null : (this.#options.principal ?? null),
        this.#packageName,
        SECPKG_CRED_OUTBOUND,
        null,
        identity?.pointer ?? null,
        null,
        null,
        credential,
        expiry,
      );
    } finally {
      identity?.free();
    }
    if (status !== SEC_E_OK) throw this.#fail('AcquireCredentialsHandleW', status, 'credentials');
    return credential;
  }

  async #initialize(input: Buffer | undefined): Promise<ContextStep> {
    const api = this.#api;
    const { koffi, types } = api;
    const buffers = this.#outputBuffers();
    // cbBuffer is rewritten by each call to the token's length: reset it to the capacity first.
    koffi.encode(this.#outBuffer, types.SecBuffer, { cbBuffer: this.#maxToken, BufferType: SECBUFFER_TOKEN, pvBuffer: this.#outToken });
    let inToken: Native | undefined;
    let inBuffer: Native | undefined;
    let inDesc: Native | undefined;
    if (input !== undefined) {
      inToken = koffi.alloc('uint8_t', Math.max(1, input.length));
      new Uint8Array(koffi.view(inToken, input.length)).set(input);
      inBuffer = koffi.alloc(types.SecBuffer, 1);
      koffi.encode(inBuffer, types.SecBuffer, { cbBuffer: input.length, BufferType: SECBUFFER_TOKEN, pvBuffer: inToken });
      inDesc = koffi.alloc(types.SecBufferDesc, 1);
      koffi.encode(inDesc, types.SecBufferDesc, { ulVersion: SECBUFFER_VERSION, cBuffers: 1, pBuffers: inBuffer });
    }
    const first = this.#context === undefined;
    const context: SecHandleValue = this.#context ?? { dwLower: 0, dwUpper: 0 };
    const attributes = [0];
    const expiry = [0];
    let status: number;
    try {
      status = await callAsync(
        api.InitializeSecurityContextW,
        this.#credential,
        first ? null : context,
        this.#options.spn,
        this.#requirements(),
        0,
        SECURITY_NATIVE_DREP,
        inDesc ?? null,
        0,
        context,
        buffers,
        attributes,
        expiry,
      );
    } finally {
      for (const p of [inDesc, inBuffer, inToken]) if (p !== undefined) koffi.free(p);
    }
    const phase = first ? 'first-token' : 'reply-token';
    if (!isSspiSuccess(status)) throw this.#fail('InitializeSecurityContextW', status, phase);
    // A failed first call leaves no context; a successful one hands back the handle to reuse.
    this.#context = context;
    if (status === SEC_I_COMPLETE_NEEDED || status === SEC_I_COMPLETE_AND_CONTINUE) {
      const done = api.CompleteAuthToken(context, buffers) as number;
      if (done !== SEC_E_OK) throw this.#fail('CompleteAuthToken', done, phase);
    }
    const written = (koffi.decode(this.#outBuffer, types.SecBuffer) as { cbBuffer: number }).cbBuffer;
    const token = written > 0 ? Buffer.from(new Uint8Array(koffi.view(this.#outToken, written))) : undefined;
    // With mutual authentication asked, Kerberos completes only once the reply token has verified;
    // NTLM (Negotiate's fallback) completes without it, as GSSAPI does when the flag is not granted.
    const complete = status === SEC_E_OK || status === SEC_I_COMPLETE_NEEDED;
    if (!complete && status !== SEC_I_CONTINUE_NEEDED && status !== SEC_I_COMPLETE_AND_CONTINUE) {
      throw this.#fail('InitializeSecurityContextW', status, phase);
    }
    this.#complete = complete;
    return { token, complete };
  }

  /** The GSSAPI side's flags (mutual when asked, sequence), on a connection-oriented context; never delegation. */
  #requirements(): number {
    // NTLM to a proxy protects no messages afterwards: asking for sequence detection makes it demand
    // signing, which a proxy's challenge without 128-bit keys refuses (Wine's ntlm_auth: "NA").
    if (this.#packageName === 'NTLM') return ISC_REQ_CONNECTION;
    return ISC_REQ_CONNECTION | ISC_REQ_SEQUENCE_DETECT | (this.#options.mutual ? ISC_REQ_MUTUAL_AUTH : 0);
  }

  #outputBuffers(): Native {
    const { koffi, types } = this.#api;
    if (this.#outDesc === undefined) {
      this.#outToken = koffi.alloc('uint8_t', this.#maxToken);
      this.#outBuffer = koffi.alloc(types.SecBuffer, 1);
      this.#outDesc = koffi.alloc(types.SecBufferDesc, 1);
      koffi.encode(this.#outDesc, types.SecBufferDesc, { ulVersion: SECBUFFER_VERSION, cBuffers: 1, pBuffers: this.#outBuffer });
    }
    return this.#outDesc;
  }

  async targetName(): Promise<string | undefined> {
    // Windows builds the service ticket's name from the SPN as given (no reverse DNS, unlike MIT's
    // default): the package reports it back where it can, else it is the SPN itself.
    const context = this.#context;
    if (context === undefined || this.#disposed) return this.#options.spn;
    const { koffi, QueryContextAttributesW, FreeContextBuffer } = this.#api;
    const out = koffi.alloc('void *', 1);
    try {
      const status = QueryContextAttributesW(context, SECPKG_ATTR_CLIENT_SPECIFIED_TARGET, out) as number;
      if (status !== SEC_E_OK) return this.#options.spn;
      const p = koffi.decode(out, 'void *');
      if (p === null) return this.#options.spn;
      const name = koffi.decode.string16(p);
      FreeContextBuffer(p);
      return name || this.#options.spn;
    } finally {
      koffi.free(out);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // A step still running owns the handles and buffers until its call returns.
    if (!this.#busy) this.#release();
  }

  #release(): void {
    const { koffi } = this.#api;
    if (this.#context !== undefined) this.#api.DeleteSecurityContext(this.#context);
    if (this.#credential !== undefined) this.#api.FreeCredentialsHandle(this.#credential);
    if (this.#outToken !== undefined) new Uint8Array(koffi.view(this.#outToken, this.#maxToken)).fill(0);
    for (const p of [this.#outDesc, this.#outBuffer, this.#outToken]) if (p !== undefined) koffi.free(p);
    this.#context = this.#credential = this.#outDesc = this.#outBuffer = this.#outToken = undefined;
  }
}

const SEC_WINNT_AUTH_IDENTITY_UNICODE = 2;

/**
 * SEC_WINNT_AUTH_IDENTITY_W for `DOMAIN\\user` (or `user@domain`, which Windows takes as the user with
 * no domain) and a password, in memory of ours that stays put while the call runs on the pool. `free()`
 * zeroes the password's copy before giving the memory back.
 */
function authIdentity(api: SspiApi, credentials: { readonly username: string; readonly password: string }): { pointer: unknown; free(): void } {
  const { koffi, types } = api;
  const slash = credentials.username.indexOf('\\');
  const domain = slash >= 0 ? credentials.username.slice(0, slash) : '';
  const user = slash >= 0 ? credentials.username.slice(slash + 1) : credentials.username;
  const allocated: unknown[] = [];
  const wide = (text: string): unknown => {
    const units = Array.from({ length: text.length + 1 }, (_, i) => (i < text.length ? text.charCodeAt(i) : 0));
    const p: unknown = koffi.alloc('uint16_t', units.length);
    koffi.encode(p, 'uint16_t', units, units.length);
    allocated.push(p);
    return p;
  };
  const password = wide(credentials.password);
  const pointer: unknown = koffi.alloc(types.AuthIdentityW, 1);
  allocated.push(pointer);
  koffi.encode(pointer, types.AuthIdentityW, {
    User: wide(user),
    UserLength: user.length,
    Domain: wide(domain),
    DomainLength: domain.length,
    Password: password,
    PasswordLength: credentials.password.length,
    Flags: SEC_WINNT_AUTH_IDENTITY_UNICODE,
  });
  return {
    pointer,
    free: () => {
      koffi.encode(password, 'uint16_t', new Array<number>(credentials.password.length + 1).fill(0), credentials.password.length + 1);
      for (const p of allocated) koffi.free(p);
    },
  };
}
