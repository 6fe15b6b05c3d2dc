import { debug } from '../../../debug.js';
import { NativeSecurityFailure, type ContextStep, type InitContextOptions, type SecurityContext, type SecurityLibraryInfo } from '../provider.js';
import { failure, nameText, onPool, takeBuffer } from './calls.js';
import type { GssFunctions } from './functions.js';
import { GSS_S, gssError, isKrb5Code } from './status.js';

const GSS_C_MUTUAL_FLAG = 2;
const GSS_C_SEQUENCE_FLAG = 8;
const GSS_C_INITIATE = 1;

/** The native handles one context owns; released on dispose, or by the finalizer if nobody disposed. */
interface Handles {
  context: unknown;
  target: unknown;
  cred: unknown;
  /** A call is running on the pool with these handles: release when it returns, not before. */
  busy: boolean;
  /** SPNEGO's credential was limited to Kerberos (or that was tried and left to the default). */
  negotiated: boolean;
  /** `cred` is that limited SPNEGO credential. */
  limited: boolean;
  disposed: boolean;
}

function release(fns: GssFunctions, h: Handles): void {
  if (h.busy) return;
  if (h.context) fns.deleteSecContext([0], [h.context], null);
  if (h.target) fns.releaseName([0], [h.target]);
  if (h.cred) fns.releaseCred([0], [h.cred]);
  h.context = h.target = h.cred = null;
}

/** MIT's mechglue numbers for krb5 codes seen through SPNEGO (100001 and up) → the codes themselves. */
const renumbered = new Map<number, number>();

// A context nobody disposed (its connection just went away) still gives its handles back, but on a
// turn of the event loop, not in V8's finalization task: that task also runs after a thread's loop has
// ended, while Node may be stopping the thread, and then Node-API refuses koffi's argument conversion,
// which koffi does not notice: the library got an uninitialized cell for the context (SIGBUS in the
// safety net's thread). An unref'd immediate never runs once the loop is over: the few handles then
// pending stay allocated for the process's life.
const orphans: { fns: GssFunctions; handles: Handles }[] = [];
function releaseOrphans(): void {
  for (const { fns, handles } of orphans.splice(0)) {
    try {
      release(fns, handles);
    } catch (error) {
      debug('GSSAPI: releasing a context nobody disposed failed: %s', error instanceof Error ? error.message : String(error));
    }
  }
}
const finalizer = new FinalizationRegistry<{ fns: GssFunctions; handles: Handles }>((held) => {
  held.handles.disposed = true;
  orphans.push(held);
  if (orphans.length === 1) setImmediate(releaseOrphans).unref();
});

/**
 * One GSSAPI initiator context: `gss_init_sec_context` with the SPNEGO mechanism, called on libuv's
 * pool (it may ask the KDC for a service ticket). The first step makes the token; a later step feeds
 * the proxy's reply token, which the library verifies (mutual authentication).
 */
export class GssapiContext implements SecurityContext {
  readonly #fns: GssFunctions;
  readonly #info: SecurityLibraryInfo;
  readonly #options: InitContextOptions;
  readonly #h: Handles = { context: null, target: null, cred: null, busy: false, negotiated: false, limited: false, disposed: false };
  #complete = false;

  constructor(fns: GssFunctions, info: SecurityLibraryInfo, options: InitContextOptions) {
    this.#fns = fns;
    this.#info = info;
    this.#options = options;
    finalizer.register(this, { fns, handles: this.#h }, this);
  }

  async step(input: Buffer | undefined): Promise<ContextStep> {
    const fns = this.#fns;
    const h = this.#h;
    if (h.disposed) throw new Error('GssapiContext: step() after dispose()');
    if (!h.target) h.target = this.#importTarget();
    const ntlm = this.#options.mechanism === 'ntlm';
    if (!ntlm && !h.cred && !h.negotiated) {
      h.negotiated = true;
      h.cred = await this.#kerberosOnlySpnego();
      h.limited = h.cred !== null;
      if (h.disposed) {
        release(fns, h);
        throw new Error('GssapiContext: disposed while its credentials were acquired');
      }
    }
    if ((this.#options.principal || this.#options.password) && !h.cred) {
      const cred = this.#options.password ? await this.#acquireWithPassword(this.#options.password) : await this.#acquire(this.#options.principal as string);
      if (h.disposed) {
        fns.releaseCred([0], [cred]);
        throw new Error('GssapiContext: disposed while its credentials were acquired');
      }
      h.cred = cred;
    }
    const minor = [0];
    const context = [h.context];
    const output: { length?: number; value?: unknown } = {};
    // NTLM has no mutual authentication: the proxy's last word is its status, not a token.
    const flags = (this.#options.mutual && !ntlm ? GSS_C_MUTUAL_FLAG : 0) | GSS_C_SEQUENCE_FLAG;
    const mech = ntlm ? fns.oids.ntlmssp : fns.oids.spnego;
    const token = input && input.length > 0 ? { length: input.length, value: input } : { length: 0, value: null };
    h.busy = true;
    let major: number;
    try {
      major = await onPool(fns.initSecContext, minor, h.cred, context, h.target, mech, flags, 0, null, token, null, output, null, null);
    } finally {
      h.busy = false;
      h.context = context[0] ?? null;
    }
    const out = output.length && output.value ? takeBuffer(fns, output) : undefined;
    if (h.disposed) release(fns, h);
    if (gssError(major)) {
      const first = failure(fns, this.#info, 'gss_init_sec_context', major, minor[0] ?? 0);
      // SPNEGO hides the krb5 mechanism's code: MIT's mechglue renumbers it (each (mechanism, code)
      // pair gets a number of its own, 100001 and up), Heimdal answers GSS_S_BAD_MECH with minor 0
      // whatever went wrong. The same call with the krb5 mechanism itself reports the code: made only
      // to classify a failure, never for a token.
      // MIT's numbers stay fixed for the process's life, so each is asked about once.
      const known = this.#info.family === 'mit' ? renumbered.get(first.minor) : undefined;
      if (known !== undefined) throw failure(fns, this.#info, 'gss_init_sec_context', first.major, known);
      // NTLM's first leg needs nothing but credentials (no network): gss-ntlmssp reports none found
      // (no NTLM_USER_FILE, no winbind) as GSS_S_FAILURE with an errno (ENOENT) for its minor.
      if (ntlm && !input && first.kind === 'other' && (first.major & 0x00ff0000) === GSS_S.FAILURE) {
        throw new NativeSecurityFailure('no-credentials', first.call, first.major, first.minor, first.message);
      }
      if (!ntlm && !input && !isKrb5Code(first.minor) && !h.disposed) {
        const direct = await this.#krb5Failure();
        // The same failure seen closer, not another one (the environment may have changed between the calls).
        // Limited to Kerberos, SPNEGO reports a missing ticket as GSS_S_FAILURE ("cannot find mechanisms to negotiate").
        const nothingToNegotiate = h.limited && (first.major & 0x00ff0000) === GSS_S.FAILURE;
        const same = direct && ((direct.major & 0x00ff0000) === (first.major & 0x00ff0000) || (first.major & 0x00ff0000) === GSS_S.BAD_MECH || nothingToNegotiate);
        if (direct && same && (isKrb5Code(direct.minor) || direct.kind !== 'other')) {
          if (this.#info.family === 'mit' && first.minor !== 0 && isKrb5Code(direct.minor)) renumbered.set(first.minor, direct.minor);
          throw direct;
        }
      }
      throw first;
    }
    this.#complete = (major & GSS_S.CONTINUE_NEEDED) === 0;
    return { token: out, complete: this.#complete };
  }

  async targetName(): Promise<string | undefined> {
    const fns = this.#fns;
    const h = this.#h;
    if (h.disposed || h.busy) return undefined;
    // RFC 2744 allows gss_inquire_context on a partially established context; a library that refuses
    // it (SPNEGO before its last leg) falls through to canonicalizing the name.
    if (h.context) {
      const name = [null as unknown];
      if (!gssError(fns.inquireContext([0], h.context, null, name, null, null, null, null, null) as number) && name[0]) {
        try {
          return nameText(fns, name[0]);
        } finally {
          fns.releaseName([0], name);
        }
      }
    }
    // No context (the KDC refused the name): the name as the krb5 mechanism turns it into a principal,
    // after the library's DNS canonicalization (MIT's rdns), which may reach DNS: on the pool.
    if (!h.target) h.target = this.#importTarget();
    const canonical = [null as unknown];
    const major = await onPool(fns.canonicalizeName, [0], h.target, fns.oids.krb5, canonical);
    if (gssError(major) || !canonical[0]) return undefined;
    try {
      return nameText(fns, canonical[0]);
    } finally {
      fns.releaseName([0], canonical);
    }
  }

  /** The krb5 mechanism's own failure for the same target, when it fails with a krb5 code. */
  async #krb5Failure(): Promise<ReturnType<typeof failure> | undefined> {
    const fns = this.#fns;
    const h = this.#h;
    const minor = [0];
    const context = [null as unknown];
    const output: { length?: number; value?: unknown } = {};
    h.busy = true;
    let major: number;
    try {
      // The limited SPNEGO credential may hold no Kerberos element (no ticket): ask with the default one, as before it.
      const cred = h.limited && !this.#options.principal ? null : h.cred;
      major = await onPool(fns.initSecContext, minor, cred, context, h.target, fns.oids.krb5, GSS_C_MUTUAL_FLAG, 0, null, { length: 0, value: null }, [null], output, [0], [0]);
    } finally {
      h.busy = false;
      if (output.value) takeBuffer(fns, output);
      if (context[0]) fns.deleteSecContext([0], context, null);
      if (h.disposed) release(fns, h);
    }
    return gssError(major) ? failure(fns, this.#info, 'gss_init_sec_context', major, minor[0] ?? 0) : undefined;
  }

  dispose(): void {
    if (this.#h.disposed) return;
    this.#h.disposed = true;
    finalizer.unregister(this);
    release(this.#fns, this.#h);
  }

  #importTarget(): unknown {
    const fns = this.#fns;
    const text = Buffer.from(this.#options.spn, 'utf8');
    const minor = [0];
    const name = [null as unknown];
    const major = fns.importName(minor, { length: text.length, value: text }, fns.oids.hostbasedService, name) as number;
    if (gssError(major)) throw failure(fns, this.#info, 'gss_import_name', major, minor[0] ?? 0);
    return name[0];
  }

  /**
   * A SPNEGO credential that negotiates Kerberos alone (`gss_set_neg_mechs`). Without it SPNEGO offers
   * every mechanism with credentials, and with gss-ntlmssp installed and NTLM credentials at hand
   * (NTLM_USER_FILE, winbind) but no ticket, its "Negotiate" token is NTLM, which a Kerberos proxy
   * refuses (measured against the AD lab's Squid): NTLM is chosen as its own scheme, never inside
   * SPNEGO. Null where this cannot be done (no ticket, an old library): the init call then runs on the
   * default credential and reports any failure as before.
   */
  async #kerberosOnlySpnego(): Promise<unknown> {
    const fns = this.#fns;
    if (!fns.setNegMechs) return null;
    const principal = this.#options.principal;
    const minor = [0];
    const name = [null as unknown];
    if (principal) {
      const text = Buffer.from(principal, 'utf8');
      if (gssError(fns.importName(minor, { length: text.length, value: text }, fns.oids.userName, name) as number)) return null;
    }
    try {
      const cred = [null as unknown];
      if (gssError(await onPool(fns.acquireCred, minor, name[0], 0xffffffff, fns.spnegoKrb5Set, GSS_C_INITIATE, cred, null, [0])) || !cred[0]) return null;
      if (gssError(fns.setNegMechs(minor, cred[0], fns.krb5Only) as number)) {
        fns.releaseCred([0], cred);
        return null;
      }
      return cred[0];
    } finally {
      if (name[0]) fns.releaseName([0], name);
    }
  }

  /**
   * NTLMSSP credentials from a user name and password (`gss_acquire_cred_with_password` for that
   * mechanism alone). The password goes to the library in a buffer of ours, zeroed once it returns.
   */
  async #acquireWithPassword(credentials: { readonly username: string; readonly password: string }): Promise<unknown> {
    const fns = this.#fns;
    const acquire = fns.acquireCredWithPassword;
    if (!acquire) throw new NativeSecurityFailure('no-credentials', 'gss_acquire_cred_with_password', GSS_S.UNAVAILABLE, 0, `${this.#info.library} has no gss_acquire_cred_with_password: NTLM needs the logged-on user's credentials there (NTLM_USER_FILE)`);
    const text = Buffer.from(credentials.username, 'utf8');
    const minor = [0];
    const name = [null as unknown];
    let major = fns.importName(minor, { length: text.length, value: text }, fns.oids.userName, name) as number;
    if (gssError(major)) throw failure(fns, this.#info, 'gss_import_name', major, minor[0] ?? 0);
    const secret = Buffer.from(credentials.password, 'utf8');
    try {
      const cred = [null as unknown];
      major = await onPool(acquire, minor, name[0], { length: secret.length, value: secret }, 0xffffffff, fns.ntlmsspSet, GSS_C_INITIATE, cred, null, [0]);
      if (gssError(major)) throw failure(fns, this.#info, 'gss_acquire_cred_with_password', major, minor[0] ?? 0);
      return cred[0];
    } finally {
      secret.fill(0);
      fns.releaseName([0], name);
    }
  }

  /** Credentials of `principal` instead of the cache's default one (may reach the KDC, via a client keytab). */
  async #acquire(principal: string): Promise<unknown> {
    return acquireFor(this.#fns, this.#info, principal);
  }
}

/** `gss_acquire_cred` for a named principal (`user@REALM`), on the pool. */
export async function acquireFor(fns: GssFunctions, info: SecurityLibraryInfo, principal: string): Promise<unknown> {
  const text = Buffer.from(principal, 'utf8');
  const minor = [0];
  const name = [null as unknown];
  let major = fns.importName(minor, { length: text.length, value: text }, fns.oids.userName, name) as number;
  if (gssError(major)) throw failure(fns, info, 'gss_import_name', major, minor[0] ?? 0);
  try {
    const cred = [null as unknown];
    // MIT: Kerberos alone, so a mechanism plugin (gss-ntlmssp) never answers for it (functions.ts).
    // Heimdal and Apple load no such plugins, and Heimdal 7.8 finds no credentials for a named
    // principal when asked for the Kerberos mechanism alone (measured), so they get the default set.
    const mechs = info.family === 'mit' ? fns.krb5Only : null;
    major = await onPool(fns.acquireCred, minor, name[0], 0xffffffff, mechs, GSS_C_INITIATE, cred, null, [0]);
    if (gssError(major)) throw failure(fns, info, 'gss_acquire_cred', major, minor[0] ?? 0);
    return cred[0];
  } finally {
    fns.releaseName([0], name);
  }
}
