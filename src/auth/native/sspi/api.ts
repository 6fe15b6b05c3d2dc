import type * as Koffi from 'koffi';
import { onPoolThread } from '../pool-calls.js';

type KoffiModule = typeof Koffi;
type KoffiType = ReturnType<KoffiModule['struct']>;
type KoffiFunction = ReturnType<ReturnType<KoffiModule['load']>['func']>;

/** sspi.h constants this binding uses. */
export const SECPKG_CRED_OUTBOUND = 2;
export const SECURITY_NATIVE_DREP = 0x10;
export const SECBUFFER_VERSION = 0;
export const SECBUFFER_TOKEN = 2;
export const ISC_REQ_MUTUAL_AUTH = 0x2;
export const ISC_REQ_SEQUENCE_DETECT = 0x8;
export const ISC_REQ_CONNECTION = 0x800;
export const SECPKG_ATTR_NAMES = 1;
export const SECPKG_ATTR_PACKAGE_INFO = 10;
export const SECPKG_ATTR_CLIENT_SPECIFIED_TARGET = 27;
export const SECPKG_CRED_ATTR_NAMES = 1;
export const FORMAT_MESSAGE_FROM_SYSTEM = 0x1000;
export const FORMAT_MESSAGE_IGNORE_INSERTS = 0x200;

/**
 * The structs of sspi.h for 64-bit Windows, where every member falls on its natural alignment (no
 * `#pragma pack` in sspi.h): SecHandle 16 bytes, SecBuffer 16, SecBufferDesc 16, SecPkgInfoW 32. The
 * same declarations give the same sizes on any 64-bit platform, which is how they are tested off Windows.
 */
export interface SspiTypes {
  readonly SecHandle: KoffiType;
  readonly SecBuffer: KoffiType;
  readonly SecBufferDesc: KoffiType;
  readonly SecPkgInfoW: KoffiType;
  /** SEC_WINNT_AUTH_IDENTITY_W: explicit credentials for AcquireCredentialsHandleW (48 bytes on 64-bit). */
  readonly AuthIdentityW: KoffiType;
}

const typeCache = new WeakMap<KoffiModule, SspiTypes>();

/**
 * Declared once per koffi module, and anonymous: koffi's type names are global to its native part, which
 * its ESM and CommonJS entries share, so a named type declared through both would clash.
 */
export function sspiTypes(koffi: KoffiModule): SspiTypes {
  let types = typeCache.get(koffi);
  if (!types) {
    types = {
      SecHandle: koffi.struct({ dwLower: 'uintptr_t', dwUpper: 'uintptr_t' }),
      SecBuffer: koffi.struct({ cbBuffer: 'uint32_t', BufferType: 'uint32_t', pvBuffer: 'void *' }),
      SecBufferDesc: koffi.struct({ ulVersion: 'uint32_t', cBuffers: 'uint32_t', pBuffers: 'void *' }),
      SecPkgInfoW: koffi.struct({
        fCapabilities: 'uint32_t',
        wVersion: 'uint16_t',
        wRPCID: 'uint16_t',
        cbMaxToken: 'uint32_t',
        Name: 'void *',
        Comment: 'void *',
      }),
      AuthIdentityW: koffi.struct({
        User: 'void *',
        UserLength: 'uint32_t',
        Domain: 'void *',
        DomainLength: 'uint32_t',
        Password: 'void *',
        PasswordLength: 'uint32_t',
        Flags: 'uint32_t',
      }),
    };
    typeCache.set(koffi, types);
  }
  return types;
}

/** The functions of secur32.dll (and kernel32's FormatMessageW) this binding calls. */
export interface SspiApi {
  readonly koffi: KoffiModule;
  readonly types: SspiTypes;
  readonly AcquireCredentialsHandleW: KoffiFunction;
  readonly InitializeSecurityContextW: KoffiFunction;
  readonly CompleteAuthToken: KoffiFunction;
  readonly QueryContextAttributesW: KoffiFunction;
  readonly QueryCredentialsAttributesW: KoffiFunction;
  readonly QuerySecurityPackageInfoW: KoffiFunction;
  readonly FreeContextBuffer: KoffiFunction;
  readonly DeleteSecurityContext: KoffiFunction;
  readonly FreeCredentialsHandle: KoffiFunction;
  /** Undefined where kernel32 cannot be loaded (never on Windows). */
  readonly FormatMessageW: KoffiFunction | undefined;
}

/**
 * Binds secur32.dll. Buffers that SSPI reads or fills through a pointer inside a struct (SecBuffer's
 * pvBuffer) are koffi.alloc memory, passed as `void *`: their address must stay valid for the whole
 * call, which runs on libuv's pool when it may reach a domain controller.
 */
export function bindSspi(koffi: KoffiModule, library = 'secur32.dll'): SspiApi {
  const types = sspiTypes(koffi);
  const lib = koffi.load(library);
  const { SecHandle } = types;
  const fn = (name: string, result: string, args: Array<string | KoffiType | ReturnType<KoffiModule['out']>>): KoffiFunction =>
    lib.func('__stdcall', name, result, args);
  let FormatMessageW: KoffiFunction | undefined;
  try {
    FormatMessageW = koffi
      .load('kernel32.dll')
      .func('__stdcall', 'FormatMessageW', 'uint32_t', ['uint32_t', 'void *', 'uint32_t', 'uint32_t', 'void *', 'uint32_t', 'void *']);
  } catch {
    FormatMessageW = undefined;
  }
  return {
    koffi,
    types,
    // (principal, package, credentialUse, logonId, authData, getKeyFn, getKeyArgument, credential, expiry)
    AcquireCredentialsHandleW: fn('AcquireCredentialsHandleW', 'int32_t', [
      'const char16_t *',
      'const char16_t *',
      'uint32_t',
      'void *',
      'void *',
      'void *',
      'void *',
      koffi.out(koffi.pointer(SecHandle)),
      koffi.out(koffi.pointer('int64_t')),
    ]),
    // (credential, context or NULL, target, requirements, reserved1, targetDataRep, input, reserved2,
    //  newContext, output, contextAttributes, expiry)
    InitializeSecurityContextW: fn('InitializeSecurityContextW', 'int32_t', [
      koffi.pointer(SecHandle),
      koffi.pointer(SecHandle),
      'const char16_t *',
      'uint32_t',
      'uint32_t',
      'uint32_t',
      'void *',
      'uint32_t',
      koffi.inout(koffi.pointer(SecHandle)),
      'void *',
      koffi.out(koffi.pointer('uint32_t')),
      koffi.out(koffi.pointer('int64_t')),
    ]),
    CompleteAuthToken: fn('CompleteAuthToken', 'int32_t', [koffi.pointer(SecHandle), 'void *']),
    QueryContextAttributesW: fn('QueryContextAttributesW', 'int32_t', [koffi.pointer(SecHandle), 'uint32_t', 'void *']),
    QueryCredentialsAttributesW: fn('QueryCredentialsAttributesW', 'int32_t', [koffi.pointer(SecHandle), 'uint32_t', 'void *']),
    QuerySecurityPackageInfoW: fn('QuerySecurityPackageInfoW', 'int32_t', ['const char16_t *', koffi.out(koffi.pointer('void *'))]),
    FreeContextBuffer: fn('FreeContextBuffer', 'int32_t', ['void *']),
    DeleteSecurityContext: fn('DeleteSecurityContext', 'int32_t', [koffi.pointer(SecHandle)]),
    FreeCredentialsHandle: fn('FreeCredentialsHandle', 'int32_t', [koffi.pointer(SecHandle)]),
    FormatMessageW,
  };
}

/** Runs a koffi function on libuv's pool and resolves with its result. */
export function callAsync(fn: KoffiFunction, ...args: unknown[]): Promise<number> {
  return onPoolThread(fn, ...args);
}

/** A TimeStamp (FILETIME: 100 ns since 1601) as Unix milliseconds; undefined for "never" and zero. */
export function fileTimeToUnixMs(value: number | bigint): number | undefined {
  const t = BigInt(value);
  // Kerberos says "never" with the largest signed value (or close to it); nothing real is past 9999.
  if (t <= 0n || t >= 0x7fff_ffff_0000_0000n) return undefined;
  const ms = Number(t / 10_000n) - 11_644_473_600_000;
  return ms > 253_402_300_800_000 ? undefined : ms;
}
