/**
 * How the two GSSAPI structs we pass by address are laid out on a platform. MIT's and Apple's
 * `gssapi.h` wrap them in `#pragma pack(push,2)` under `__APPLE__` on ppc, ppc64, i386 and x86_64,
 * not on arm64 (measured in MIT 1.20's header); every other platform uses the C ABI's natural
 * alignment. With pack(2), `gss_OID_desc`'s pointer follows its 32-bit length at offset 4 (12 bytes
 * in all on x86_64) instead of offset 8 (16 bytes).
 */
export interface GssLayout {
  /** 2 where the headers say `#pragma pack(push,2)`; undefined for the natural layout. */
  readonly pack: 2 | undefined;
  /** `gss_OID_desc { OM_uint32 length; void *elements; }` */
  readonly oidDesc: { readonly size: number; readonly elementsOffset: number };
  /** `gss_buffer_desc { size_t length; void *value; }` */
  readonly bufferDesc: { readonly size: number; readonly valueOffset: number };
}

const PACKED_ON_APPLE = new Set(['x64', 'ia32', 'ppc', 'ppc64']);

/** The layout for `platform`/`arch` (default: this process's). Pure, so every row is tested anywhere. */
export function gssLayout(platform: NodeJS.Platform = process.platform, arch: string = process.arch): GssLayout {
  const pointer = ['ia32', 'arm', 'ppc', 'mips', 'mipsel'].includes(arch) ? 4 : 8;
  const pack = platform === 'darwin' && PACKED_ON_APPLE.has(arch) ? 2 : undefined;
  const align = (offset: number, to: number): number => Math.ceil(offset / to) * to;
  const elementsOffset = align(4, Math.min(pack ?? pointer, pointer));
  const oidSize = align(elementsOffset + pointer, Math.min(pack ?? pointer, pointer));
  return { pack, oidDesc: { size: oidSize, elementsOffset }, bufferDesc: { size: 2 * pointer, valueOffset: pointer } };
}
