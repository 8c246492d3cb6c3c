// Imported first by the CLI, before anything can start libuv's thread pool
// (which reads UV_THREADPOOL_SIZE once, when it starts). Each dump keeps up
// to two fills on the pool, and a split scan runs two dumps or more, which
// would take all of the default four threads and leave the listeners dump,
// gzip and file reads of a concurrent scrape waiting. An explicit
// UV_THREADPOOL_SIZE from the environment wins.
const DEFAULT_POOL_THREADS = '8';

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = DEFAULT_POOL_THREADS;

export {};
