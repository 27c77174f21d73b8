/** Calls to the scheduler's admin API from tests: a JSON body in, the status and the parsed JSON body out. */

/* eslint-disable @typescript-eslint/no-explicit-any -- tests read free-form JSON answers */
export interface AdminAnswer {
  status: number;
  body: Record<string, any>;
}

/** `method path` on `baseUrl` with the API key `key` (Bearer), sending `body` as JSON when given. */
export async function adminCall(baseUrl: string, key: string, method: string, path: string, body?: unknown): Promise<AdminAnswer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
}
