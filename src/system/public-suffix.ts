/**
 * The registrable domain of a name: one label below its public suffix. There is no maintained public
 * suffix package among this project's dependencies, so this is a compact rule set taken from the
 * ICANN section of Mozilla's Public Suffix List (https://publicsuffix.org/list/public_suffix_list.dat),
 * plus one rule that errs on the safe side for what it leaves out: under a two-letter country code,
 * a generic second-level label (`co`, `com`, `ac`, `gov`...) is itself a public suffix. WPAD uses it to
 * stop devolving before it would ask `wpad.co.uk` or `wpad.com` (US-CERT TA16-144A).
 */

/** Second-level labels that country registries sell under (co.uk, com.au, ac.jp, gob.mx, ...). */
const GENERIC_SECOND_LEVEL = new Set([
  'ac', 'co', 'com', 'edu', 'gov', 'gob', 'gouv', 'govt', 'net', 'org', 'or', 'ne', 'go', 'mil', 'nom', 'sch', 'ltd', 'plc', 'me', 'nic', 'info', 'biz', 'int', 'res', 'web', 'firm', 'gen', 'ind', 'nhs', 'police', 'lg', 'ad', 'ed', 'gr', 'mod', 'nat', 'priv', 'tm', 'asso', 'presse', 'blogspot',
]);

/** Multi-label suffixes from the list that the rule above would not catch. */
const LISTED = new Set([
  'jp', 'tokyo.jp', 'osaka.jp', 'kyoto.jp', 'uk', 'us', 'dni.us', 'fed.us', 'isa.us', 'nsn.us', 'k12.ca.us', 'pvt.k12.ma.us', 'cc.ca.us', 'lib.ca.us',
  'act.edu.au', 'nsw.edu.au', 'vic.edu.au', 'qld.edu.au', 'wa.edu.au', 'sa.edu.au', 'tas.edu.au', 'nt.edu.au', 'act.gov.au', 'nsw.gov.au', 'vic.gov.au', 'qld.gov.au', 'wa.gov.au', 'sa.gov.au', 'tas.gov.au', 'nt.gov.au',
  'ab.ca', 'bc.ca', 'mb.ca', 'nb.ca', 'nf.ca', 'nl.ca', 'ns.ca', 'nt.ca', 'nu.ca', 'on.ca', 'pe.ca', 'qc.ca', 'sk.ca', 'yk.ca',
  'eu.int', 'priv.at', 'gv.at', 'or.at', 'co.at', 'ac.at', 'kids.us',
]);

/** Labels where every name directly below is a public suffix (`*.ck`, `*.bd`...: the list's wildcard rules). */
const WILDCARD = new Set(['ck', 'bd', 'er', 'fk', 'jm', 'kh', 'mm', 'np', 'pg', 'nom.br', 'kawasaki.jp', 'kitakyushu.jp', 'kobe.jp', 'nagoya.jp', 'sapporo.jp', 'sendai.jp', 'yokohama.jp']);

/** True when `name` (lower case, no trailing dot) is a public suffix itself: nothing may be asked at it. */
export function isPublicSuffix(name: string): boolean {
  const labels = name.split('.');
  if (labels.length === 1) return true; // every TLD
  if (LISTED.has(name)) return true;
  const parent = labels.slice(1).join('.');
  if (WILDCARD.has(parent)) return true;
  return labels.length === 2 && (labels[1] as string).length === 2 && GENERIC_SECOND_LEVEL.has(labels[0] as string);
}

/** `a.b.example.co.uk` → `example.co.uk`; undefined when the name is a public suffix (or empty). */
export function registrableDomain(name: string): string | undefined {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.').filter((l) => l !== '');
  // The longest public suffix decides (the list's rule); the registrable domain is one label more.
  for (let i = 0; i < labels.length; i++) {
    if (isPublicSuffix(labels.slice(i).join('.'))) return i === 0 ? undefined : labels.slice(i - 1).join('.');
  }
  return undefined;
}
