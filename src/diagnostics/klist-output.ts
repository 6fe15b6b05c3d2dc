/** What a `klist` listing says about the credential cache: detail for doctor, never its verdict. */
export interface KlistListing {
  /** Which program printed it. */
  format: 'mit' | 'heimdal';
  /** The cache, e.g. `FILE:/tmp/krb5cc_1000` or macOS's `API:…`. */
  cache?: string;
  /** The cache's default principal, `user@REALM`. */
  principal?: string;
  /** The ticket-granting ticket of the principal's realm (else the first one listed). */
  tgt?: { expires: string; expired: boolean };
}

/**
 * The two listings, as their sources print them (run with LC_ALL=C: both translate headers and dates):
 * - MIT `src/clients/klist/klist.c`: "Ticket cache: TYPE:name", "Default principal: p", then the header
 *   "Valid starting", "Expires", "Service principal" padded to the timestamp width, rows aligned under it.
 * - Heimdal `kuser/klist.c` (macOS's klist too): "Credentials cache: …" and "Principal: …" right-aligned
 *   to 17 columns, then an rtbl table whose titles carry two leading spaces ("  Issued", "  Expires",
 *   "  Principal"), dates as ctime without the weekday ("Dec  2 11:31:08 2026", two spaces before a
 *   one-digit day), and ">>>Expired<<<" for an expired ticket.
 * Columns are cut at the header's positions, so dates with spaces inside them stay whole.
 */
const FORMATS = [
  {
    format: 'mit',
    cache: /^Ticket cache:[ \t]*(\S+)/m,
    principal: /^Default principal:[ \t]*(\S+)/m,
    header: /^Valid starting[ \t]+Expires[ \t]+Service principal[ \t]*$/m,
    columns: ['Expires', 'Service principal'],
    indent: 0,
  },
  {
    format: 'heimdal',
    cache: /^[ \t]*Credentials cache:[ \t]*(\S+)/m,
    principal: /^[ \t]*Principal:[ \t]*(\S+)/m,
    header: /^[ \t]*Issued[ \t]+Expires[ \t]+Principal[ \t]*$/m,
    columns: ['Expires', 'Principal'],
    indent: 2,
  },
] as const;

const EXPIRED = '>>>Expired<<<';

/** Parses a klist listing; undefined when it is neither MIT's nor Heimdal's. */
export function parseKlist(text: string): KlistListing | undefined {
  for (const f of FORMATS) {
    const header = f.header.exec(text);
    if (!header) continue;
    const listing: KlistListing = { format: f.format };
    const cache = f.cache.exec(text)?.[1];
    const principal = f.principal.exec(text)?.[1];
    if (cache) listing.cache = cache;
    if (principal) listing.principal = principal;
    const line = header[0];
    const expiresAt = line.indexOf(f.columns[0]) - f.indent;
    const serverAt = line.indexOf(f.columns[1]) - f.indent;
    const rows = text
      .slice(header.index + line.length)
      .split('\n')
      .filter((r) => r.length > serverAt && !/^\s/.test(r)) // continuation lines ("\trenew until …") are indented
      .map((r) => ({ expires: r.slice(expiresAt, serverAt).trim(), server: r.slice(serverAt).trim().split(/\s/)[0] ?? '' }));
    const realm = principal?.slice(principal.lastIndexOf('@') + 1);
    const tgt = rows.find((r) => realm !== undefined && r.server === `krbtgt/${realm}@${realm}`) ?? rows.find((r) => r.server.startsWith('krbtgt/'));
    if (tgt) listing.tgt = { expires: tgt.expires, expired: tgt.expires === EXPIRED };
    return listing;
  }
  return undefined;
}
