/**
 * The OIDs we pass, as their DER content bytes. They are built in memory we own rather than read from
 * the libraries' data symbols: MIT exports `GSS_C_NT_HOSTBASED_SERVICE` as a pointer variable, Heimdal
 * the descriptor itself under another name, and neither exports SPNEGO's (ffi-probe, 2026-12-07). Both
 * compare OIDs by value, so caller-owned descriptors work with each.
 */
export const OID_BYTES = {
  /** 1.2.840.113554.1.2.1.4, GSS_C_NT_HOSTBASED_SERVICE (RFC 2743 4.1): `service@host`. */
  hostbasedService: Buffer.from('2a864886f71201020104', 'hex'),
  /** 1.2.840.113554.1.2.1.1, GSS_C_NT_USER_NAME: `user@REALM` for a principal asked for by name. */
  userName: Buffer.from('2a864886f71201020101', 'hex'),
  /** 1.3.6.1.5.5.2, SPNEGO (RFC 4178). */
  spnego: Buffer.from('2b0601050502', 'hex'),
  /** 1.2.840.113554.1.2.2, the Kerberos 5 mechanism (RFC 1964): to canonicalize a name as the KDC will see it. */
  krb5: Buffer.from('2a864886f712010202', 'hex'),
  /** 1.3.6.1.4.1.311.2.2.10, NTLMSSP: a mechanism plugin (gss-ntlmssp) where one is installed. */
  ntlmssp: Buffer.from('2b06010401823702020a', 'hex'),
} as const;
