// Runs every audit of graphql-http (the GraphQL-over-HTTP spec's own suite) against a
// server and prints the results as JSON, one object per audit: {id, name, status, reason}.
// Usage: node audit.mjs <url> [api key]   (the key is sent as "Authorization: Bearer <key>").
import { auditServer } from 'graphql-http';

const [url, key] = process.argv.slice(2);
if (!url) {
  console.error('usage: node audit.mjs <url> [api key]');
  process.exit(2);
}

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (key) headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const out = [];
for (const result of results) {
  const item = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    item.reason = result.reason;
    item.httpStatus = result.response.status;
    item.body = await result.response.text().catch(() => '');
  }
  out.push(item);
}
console.log(JSON.stringify(out, null, 2));
