/**
 * The request target as the client sent it (Node's req.url is the raw bytes of the request
 * line), checked before any routing. Node does not normalise it, but WHATWG URL does: routing
 * on one spelling and answering on another is how `/access/list/../../audit` reached the
 * audit. So nothing is normalised here; a path that a normaliser would change is refused.
 */
export type RequestTarget = { path: string; query: URLSearchParams } | { problem: string };

export function parseRequestTarget(raw: string): RequestTarget {
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  if (!path.startsWith('/')) return { problem: 'the request target must be a path beginning with /' };
  // A backslash is a slash to WHATWG URL, and a fragment never belongs in a request line.
  if (path.includes('\\') || path.includes('#')) return { problem: 'the path must not contain "\\" or "#"' };
  if (path.includes('//')) return { problem: 'the path must not contain an empty segment (//)' };
  for (const segment of path.slice(1).split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return { problem: 'the path has a malformed percent-encoding' };
    }
    // %2e%2e is ".." to a URL parser as much as ".." is.
    if (decoded === '.' || decoded === '..') return { problem: 'the path must not contain "." or ".." segments' };
  }
  return { path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

export function isBadTarget(t: RequestTarget): t is { problem: string } {
  return 'problem' in t;
}
