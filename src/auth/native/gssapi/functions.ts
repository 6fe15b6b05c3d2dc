import type { LibraryHandle, TypeObject } from 'koffi';
import { gssLayout } from './layout.js';
import { OID_BYTES } from './oids.js';

type Koffi = typeof import('koffi');
/** A declared native function: call it directly (on this thread) or through `.async` (on libuv's pool). */
type Fn = ReturnType<LibraryHandle['func']>;

/** The GSSAPI calls the binding makes, declared once per loaded library, with OIDs in memory we own. */
export interface GssFunctions {
  readonly koffi: Koffi;
  readonly BufferDesc: TypeObject;
  readonly importName: Fn;
  readonly canonicalizeName: Fn;
  readonly displayName: Fn;
  readonly releaseName: Fn;
  readonly initSecContext: Fn;
  readonly inquireContext: Fn;
  readonly deleteSecContext: Fn;
  readonly acquireCred: Fn;
  readonly inquireCred: Fn;
  readonly releaseCred: Fn;
  readonly displayStatus: Fn;
  readonly releaseBuffer: Fn;
  /**
   * `gss_acquire_cred_with_password` (RFC 5587's extension, in MIT and Heimdal): credentials from a
   * user name and password for one mechanism (NTLMSSP's explicit credentials). Undefined where the
   * library does not export it.
   */
  readonly acquireCredWithPassword: Fn | undefined;
  /** Addresses of our own `gss_OID_desc`s: never freed (a handful of bytes for the process's life). */
  readonly oids: { readonly hostbasedService: bigint; readonly userName: bigint; readonly spnego: bigint; readonly krb5: bigint; readonly ntlmssp: bigint };
  /** A `gss_OID_set` of NTLMSSP alone (the mechanism a password credential is for). */
  readonly ntlmsspSet: bigint;
  /**
   * A `gss_OID_set` of the Kerberos mechanism alone: for `gss_acquire_cred` of a named principal (with
   * no set the library acquires for every mechanism it has, and with Debian's `gss-ntlmssp` plugin a
   * principal with no ticket would fail with NTLMSSP's error instead of "no credentials"), and what our
   * SPNEGO may negotiate (`gss_set_neg_mechs`).
   */
  readonly krb5Only: bigint;
  /** SPNEGO with Kerberos: the credential our SPNEGO runs on. */
  readonly spnegoKrb5Set: bigint;
  /** `gss_set_neg_mechs` (MIT, Heimdal): which mechanisms a SPNEGO credential offers. Undefined where not exported. */
  readonly setNegMechs: Fn | undefined;
}

/** Declares the functions on `lib` with the struct layout of `platform`/`arch` (see layout.ts). */
export function declareGssFunctions(koffi: Koffi, lib: LibraryHandle, platform: NodeJS.Platform = process.platform, arch: string = process.arch): GssFunctions {
  const layout = gssLayout(platform, arch);
  // koffi.pack is no padding at all; for these two structs that is the same as pack(2): each member
  // already sits on a 2-byte boundary. Anonymous types, so that declaring twice is no conflict.
  const record = layout.pack ? koffi.pack : koffi.struct;
  const BufferDesc = record({ length: 'size_t', value: 'void *' });
  const OidDesc = record({ length: 'uint32_t', elements: 'void *' });
  const P = koffi.pointer;
  const out = (t: string | TypeObject): ReturnType<Koffi['out']> => koffi.out(P(t));
  const inout = (t: string | TypeObject): ReturnType<Koffi['inout']> => koffi.inout(P(t));
  const u32 = 'uint32_t';
  const ptr = 'void *';
  const f = (name: string, args: unknown[]): Fn => lib.func(name, u32, args as never);

  const OidSet = record({ count: 'size_t', elements: 'void *' });
  const optional = (name: string, args: unknown[]): Fn | undefined => {
    try {
      return f(name, args);
    } catch {
      return undefined;
    }
  };
  const oid = (bytes: Buffer): bigint => {
    const elements: unknown = koffi.alloc('uint8_t', bytes.length);
    koffi.encode(elements, 'uint8_t', [...bytes], bytes.length);
    const desc: unknown = koffi.alloc(OidDesc, 1);
    koffi.encode(desc, OidDesc, { length: bytes.length, elements });
    return desc as bigint;
  };

  const oids = { hostbasedService: oid(OID_BYTES.hostbasedService), userName: oid(OID_BYTES.userName), spnego: oid(OID_BYTES.spnego), krb5: oid(OID_BYTES.krb5), ntlmssp: oid(OID_BYTES.ntlmssp) };
  // A set's elements are the descriptors themselves (one contiguous array), not pointers to them.
  const oidSet = (members: readonly Buffer[]): bigint => {
    const elements: unknown = koffi.alloc(OidDesc, members.length);
    koffi.encode(elements, koffi.array(OidDesc, members.length), members.map((bytes) => {
      const b: unknown = koffi.alloc('uint8_t', bytes.length);
      koffi.encode(b, 'uint8_t', [...bytes], bytes.length);
      return { length: bytes.length, elements: b };
    }));
    const set: unknown = koffi.alloc(OidSet, 1);
    koffi.encode(set, OidSet, { count: members.length, elements });
    return set as bigint;
  };
  return {
    koffi,
    BufferDesc,
    importName: f('gss_import_name', [out(u32), P(BufferDesc), ptr, out(ptr)]),
    canonicalizeName: f('gss_canonicalize_name', [out(u32), ptr, ptr, out(ptr)]),
    displayName: f('gss_display_name', [out(u32), ptr, out(BufferDesc), out(ptr)]),
    releaseName: f('gss_release_name', [out(u32), inout(ptr)]),
    initSecContext: f('gss_init_sec_context', [out(u32), ptr, inout(ptr), ptr, ptr, u32, u32, ptr, P(BufferDesc), out(ptr), out(BufferDesc), out(u32), out(u32)]),
    inquireContext: f('gss_inquire_context', [out(u32), ptr, ptr, out(ptr), ptr, ptr, ptr, ptr, ptr]),
    deleteSecContext: f('gss_delete_sec_context', [out(u32), inout(ptr), ptr]),
    acquireCred: f('gss_acquire_cred', [out(u32), ptr, u32, ptr, 'int', out(ptr), ptr, out(u32)]),
    inquireCred: f('gss_inquire_cred', [out(u32), ptr, out(ptr), out(u32), out('int'), ptr]),
    releaseCred: f('gss_release_cred', [out(u32), inout(ptr)]),
    displayStatus: f('gss_display_status', [out(u32), u32, 'int', ptr, inout(u32), out(BufferDesc)]),
    releaseBuffer: f('gss_release_buffer', [out(u32), inout(BufferDesc)]),
    acquireCredWithPassword: optional('gss_acquire_cred_with_password', [out(u32), ptr, P(BufferDesc), u32, ptr, 'int', out(ptr), ptr, out(u32)]),
    oids,
    ntlmsspSet: oidSet([OID_BYTES.ntlmssp]),
    krb5Only: oidSet([OID_BYTES.krb5]),
    spnegoKrb5Set: oidSet([OID_BYTES.spnego, OID_BYTES.krb5]),
    setNegMechs: optional('gss_set_neg_mechs', [out(u32), ptr, ptr]),
  };
}
