// Imported first by the CLI, before anything can start libuv's thread pool
// (which reads UV_THREADPOOL_SIZE once, when it starts). A dump's first
// fills run on the pool (up to two at once, and a worker whose turn came
// while another was still parsing waits on the pool for its batch); a split
// scan and the netns collector start many dumps at once. Eight keeps the
// listeners dump, gzip and file reads of a concurrent scrape from waiting
// behind them. An explicit UV_THREADPOOL_SIZE from the environment wins.
const DEFAULT_POOL_THREADS = '8';

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = DEFAULT_POOL_THREADS;

export {};
