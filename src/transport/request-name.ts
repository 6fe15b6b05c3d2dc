/**
 * A request as an error or a log line may name it: method and origin, never the path or query (they
 * can hold secrets). A target that is not an absolute URL is named by its method only.
 */
export function requestName(method: string, target: string): string {
  try {
    return `${method} ${new URL(target).origin}`;
  } catch {
    return method;
  }
}
