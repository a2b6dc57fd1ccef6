// Preloaded by bench/soak.mjs into the server it measures (`node --expose-gc --require ...`):
// SIGUSR2 runs a full garbage collection, so that memory readings after it show what the
// server retains rather than where V8's collection cycle happens to be. Gatepass itself
// installs no SIGUSR2 handler.
process.on('SIGUSR2', () => {
  globalThis.gc();
});
