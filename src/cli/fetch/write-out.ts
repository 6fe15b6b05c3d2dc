/** What a transfer did, as `-w/--write-out` reports it. */
export interface TransferReport {
  /** The last response's status; 0 when no response came. */
  httpCode: number;
  /** Body bytes received (of the last response). */
  sizeDownload: number;
  /** Request body bytes sent (on the last request). */
  sizeUpload: number;
  /** Milliseconds from the start to the end of the transfer, redirects included. */
  timeTotalMs: number;
  /** The last URL asked for (credentials never included). */
  urlEffective: string;
  contentType: string | null;
  numRedirects: number;
  /** Where the last response redirects to when it was not followed (no `-L`). */
  redirectUrl: string | null;
  exitCode: number;
  errorMessage: string | null;
  /** The last request's method. */
  method: string;
}

/** curl's names (`man curl`, `--write-out`) for the variables this client knows. */
const VARIABLES: Readonly<Record<string, (r: TransferReport) => string>> = {
  http_code: (r) => String(r.httpCode).padStart(3, '0'),
  response_code: (r) => String(r.httpCode).padStart(3, '0'),
  size_download: (r) => String(r.sizeDownload),
  size_upload: (r) => String(r.sizeUpload),
  time_total: (r) => (r.timeTotalMs / 1000).toFixed(6),
  url_effective: (r) => r.urlEffective,
  content_type: (r) => r.contentType ?? '',
  num_redirects: (r) => String(r.numRedirects),
  redirect_url: (r) => r.redirectUrl ?? '',
  exitcode: (r) => String(r.exitCode),
  errormsg: (r) => r.errorMessage ?? '',
  method: (r) => r.method,
};

export const WRITE_OUT_VARIABLES: readonly string[] = Object.keys(VARIABLES);

/**
 * Expands a `-w` format as curl does: `%{name}` variables, `%%` for a percent sign, and the escapes
 * `\n`, `\r`, `\t` and `\\`; anything else is copied. An unknown variable expands to nothing and is
 * returned in `unknown` (curl warns about it).
 */
export function formatWriteOut(format: string, report: TransferReport): { text: string; unknown: string[] } {
  const unknown: string[] = [];
  const text = format.replace(/%\{([^}]*)\}|%%|\\([nrt\\])/g, (match, name: string | undefined, escape: string | undefined) => {
    if (match === '%%') return '%';
    if (escape !== undefined) return escape === 'n' ? '\n' : escape === 'r' ? '\r' : escape === 't' ? '\t' : '\\';
    const variable = VARIABLES[name as string];
    if (variable) return variable(report);
    unknown.push(name as string);
    return '';
  });
  return { text, unknown };
}
