/**
 * The URL of a worker thread's entry module `name`, beside the module at `from` (its
 * `import.meta.url`). Node runs worker threads from JavaScript only: when the spawning module
 * itself runs from its TypeScript source (under the test runner), the worker is the built one
 * in dist/ (`npm test` builds first).
 */
export function workerEntry(from: string, name: string): URL {
  const url = new URL(name, from);
  if (!from.endsWith('.ts')) return url;
  const at = url.href.lastIndexOf('/src/');
  return new URL(`${url.href.slice(0, at)}/dist/${url.href.slice(at + '/src/'.length)}`);
}
