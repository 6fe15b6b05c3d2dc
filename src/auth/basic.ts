/** The `Proxy-Authorization` value for Basic credentials from a proxy URL's userinfo. */
export function basicAuthorization(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}
