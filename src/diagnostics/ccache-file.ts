/**
 * The parts of a FILE: credential cache that GSSAPI does not tell: whose cache it is when its ticket
 * has expired (MIT's gss_inquire_cred then fails, Heimdal skips the ticket), and until when the
 * ticket-granting ticket can be renewed. Read from the file's own format (MIT's
 * `doc/formats/ccache_file_format.rst`, versions 3 and 4, which Heimdal writes too), never from klist's
 * printed text. Pure: the bytes in, the facts out.
 */

/** A ticket in the cache: its service and times (seconds since the epoch). */
export interface CachedTicket {
  server: string;
  endtime: number;
  renewTill: number;
  /** TKT_FLG_RENEWABLE (0x00800000) is set. */
  renewable: boolean;
}

export interface CacheContents {
  /** The cache's default principal, `alice@REALM`. */
  principal: string;
  tickets: CachedTicket[];
}

const TKT_FLG_RENEWABLE = 0x00800000;

class Reader {
  #at = 0;
  constructor(readonly buf: Buffer) {}
  u8(): number {
    return this.buf.readUInt8(this.#take(1));
  }
  u16(): number {
    return this.buf.readUInt16BE(this.#take(2));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.#take(4));
  }
  bytes(n: number): Buffer {
    const at = this.#take(n);
    return this.buf.subarray(at, at + n);
  }
  data(): Buffer {
    return this.bytes(this.u32());
  }
  get done(): boolean {
    return this.#at >= this.buf.length;
  }
  #take(n: number): number {
    if (this.#at + n > this.buf.length) throw new RangeError('truncated ccache');
    const at = this.#at;
    this.#at += n;
    return at;
  }
}

function principal(r: Reader, version: number): string {
  if (version !== 1) r.u32(); // name type
  let count = r.u32();
  if (version === 1) count--; // version 1 counts the realm among the components
  const realm = r.data().toString('utf8');
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(r.data().toString('utf8'));
  return `${parts.join('/')}@${realm}`;
}

/** Parses a FILE: cache (format versions 3 and 4); undefined when it is not one or is cut short. */
export function parseFileCcache(buf: Buffer): CacheContents | undefined {
  try {
    const r = new Reader(buf);
    if (r.u8() !== 5) return undefined;
    const version = r.u8();
    if (version !== 3 && version !== 4) return undefined;
    if (version === 4) r.bytes(r.u16()); // header tags (the KDC time offset)
    const contents: CacheContents = { principal: principal(r, version), tickets: [] };
    while (!r.done) {
      principal(r, version); // client
      const server = principal(r, version);
      r.u16(); // key enctype
      if (version === 3) r.u16();
      r.data(); // key
      r.u32(); // authtime
      r.u32(); // starttime
      const endtime = r.u32();
      const renewTill = r.u32();
      r.u8(); // is_skey
      const flags = r.u32();
      for (let n = r.u32(); n > 0; n--) (r.u16(), r.data()); // addresses
      for (let n = r.u32(); n > 0; n--) (r.u16(), r.data()); // authdata
      r.data(); // ticket
      r.data(); // second ticket
      // MIT stores configuration entries as tickets of X-CACHECONF: principals: not tickets.
      if (!server.startsWith('X-CACHECONF:')) contents.tickets.push({ server, endtime, renewTill, renewable: (flags & TKT_FLG_RENEWABLE) !== 0 });
    }
    return contents;
  } catch {
    return undefined;
  }
}

/** The ticket-granting ticket of the principal's realm, else the first krbtgt listed. */
export function tgtOf(contents: CacheContents): CachedTicket | undefined {
  const realm = contents.principal.slice(contents.principal.lastIndexOf('@') + 1);
  return contents.tickets.find((t) => t.server === `krbtgt/${realm}@${realm}`) ?? contents.tickets.find((t) => t.server.startsWith('krbtgt/'));
}

/**
 * The file behind the cache name GSSAPI will use: KRB5CCNAME (`FILE:/x` or a bare path), else MIT's and
 * Debian's default `/tmp/krb5cc_<uid>`; undefined for the other cache types (KEYRING:, KCM:, API:, DIR:).
 */
export function fileCachePath(env: NodeJS.ProcessEnv, uid: number | undefined): string | undefined {
  const name = env.KRB5CCNAME?.trim();
  if (!name) return uid === undefined ? undefined : `/tmp/krb5cc_${uid}`;
  if (name.startsWith('FILE:')) return name.slice(5);
  if (name.startsWith('/')) return name;
  return undefined;
}
