import { JaatoProxyError } from '../errors.js';

/** A proxy URL (from the named variable or option) that cannot be parsed. Shown redacted. */
export class InvalidProxyUrlError extends JaatoProxyError {
  readonly variable: string;
  constructor(variable: string, redactedValue: string, reason: string) {
    super('ERR_JAATO_INVALID_PROXY_URL', `${variable} is not a valid proxy URL (${reason}): "${redactedValue}"`);
    this.variable = variable;
  }
}

/** A proxy scheme this library does not speak (e.g. socks5). */
export class UnsupportedProxySchemeError extends JaatoProxyError {
  readonly variable: string;
  readonly scheme: string;
  constructor(variable: string, redactedValue: string, scheme: string) {
    super(
      'ERR_JAATO_UNSUPPORTED_PROXY_SCHEME',
      `${variable} uses the unsupported proxy scheme "${scheme}" ("${redactedValue}"): only http:// and https:// proxies are supported`,
    );
    this.variable = variable;
    this.scheme = scheme;
  }
}

/** A request URL that cannot be parsed, so no routing decision can be made for it. */
export class InvalidTargetUrlError extends JaatoProxyError {
  constructor(redactedValue: string) {
    super('ERR_JAATO_INVALID_URL', `Not a valid absolute URL: "${redactedValue}"`);
  }
}

/** An option or variable with a value that cannot be used (the message names it). */
export class InvalidOptionError extends JaatoProxyError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('ERR_JAATO_INVALID_OPTION', `${option}: ${message}`);
    this.option = option;
  }
}
