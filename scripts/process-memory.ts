/**
 * The memory settings a launcher gives the processes it starts (the ledger and every node), through their
 * environment, because glibc reads them once, when the process starts.
 *
 * MALLOC_ARENA_MAX: glibc gives each thread that mallocs under contention an arena of its own, up to 8 per core,
 * and keeps what an arena once held (freed memory inside a 64 MiB arena heap is rarely returned). A node has a
 * dozen threads that malloc (libuv's pool running LevelDB reads and writes, LevelDB's compaction thread, V8's
 * workers), so its anonymous memory steps up with the high-water mark of each thread's transient use: in the
 * 3M-record soak of bench/RESULTS.md (issue 13: scale) 11 arena heaps held 47 MiB beside the main arena, against
 * one heap holding 15 MiB with two arenas, and RssAnon ended 30 MiB lower at the same CPU per record. An operator's
 * own value is kept.
 *
 * Every launcher takes the settings from here: npm start and `network up` (consortium-processes.ts) and the
 * benchmarks' ledger and node processes (bench/server-process.ts). No V8 or libuv setting is added: larger
 * semi-spaces (32, 64 MiB), `--v8-pool-size=1`, `--single-threaded-gc` and UV_THREADPOOL_SIZE=2 were measured
 * against Node's defaults in alternated runs (bench/RESULTS.md, issue 13: gcflags) and none lowered a process's CPU
 * per unit beyond the spread, while a larger young generation is resident memory in every process.
 */
export const MALLOC_ARENA_MAX = '2';

/** `env` with the launcher's memory settings added where the operator has not set them. */
export function withProcessMemorySettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const set = env.MALLOC_ARENA_MAX;
  return set === undefined || set === '' ? { ...env, MALLOC_ARENA_MAX } : env;
}
