// The console's server API (pgrealm/console/app.py). The page never signs anything
// itself: the server holds the session's key and signs each call, so the account
// boundary is the same one the aws CLI meets.

const BASE = "/console/api";
// The server refuses a POST or DELETE without this header: a page of another site
// cannot add it to a request without the server's leave (no CORS is offered).
const HEADERS = { "Content-Type": "application/json", "X-Pgrealm-Console": "1" };

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function request(method, route, body) {
  const response = await fetch(`${BASE}/${route}`, {
    method,
    headers: HEADERS,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let doc = {};
  try {
    doc = text ? JSON.parse(text) : {};
  } catch {
    doc = { error: { code: `HTTP${response.status}`, message: text.slice(0, 200) } };
  }
  if (!response.ok) {
    const error = doc.error || {};
    throw new ApiError(error.code || `HTTP${response.status}`,
      error.message || response.statusText, response.status);
  }
  return doc;
}

// One API operation, named as botocore names it: call("ds", "DescribeDirectories", {}).
export function call(service, operation, params = {}) {
  return request("POST", "call", { service, operation, params });
}

// Every page of a listing: ds and ds-data page with NextToken, rds and iam with Marker.
export async function callAll(service, operation, params, key) {
  const items = [];
  let next = {};
  for (let pages = 0; pages < 50; pages += 1) {
    const out = await call(service, operation, { ...params, ...next });
    items.push(...(out[key] || []));
    if (out.NextToken) next = { NextToken: out.NextToken };
    else if (out.Marker && out.IsTruncated !== false) next = { Marker: out.Marker };
    else break;
  }
  return items;
}

export const session = {
  get: () => request("GET", "session"),
  open: (accessKeyId, secretAccessKey) =>
    request("POST", "session", { accessKeyId, secretAccessKey }),
  close: () => request("DELETE", "session"),
};

export function runDoctor(db, user) {
  return request("POST", "doctor", { db, user });
}

export function krb5ConfUrl(db) {
  return `${BASE}/krb5.conf?db=${encodeURIComponent(db)}`;
}
