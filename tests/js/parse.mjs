// Fetch a podcast feed over HTTP and write what podcast-partytime makes of it as JSON.
// Usage: node parse.mjs FEED_URL OUTPUT.json
// The result goes to a file, not stdout, because partytime's own logger (pino) and its
// "Unexpected ..." warnings write to stdout/stderr; tests/test_clients.py reads both.
import { writeFileSync } from "node:fs";
import partytime from "podcast-partytime";

const [url, output] = process.argv.slice(2);
if (!url || !output) {
  console.error("usage: node parse.mjs FEED_URL OUTPUT.json");
  process.exit(2);
}
// Bounded: a hung server must fail the test, not stall it.
const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
if (!response.ok) {
  console.error(`GET ${url}: HTTP ${response.status}`);
  process.exit(1);
}
const feed = partytime.parseFeed(await response.text());
if (feed === null) {
  console.error(`${url}: partytime could not parse the feed`);
  process.exit(1);
}
writeFileSync(output, JSON.stringify(feed, null, 2));
