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
 * benchmarks' ledger and node processes (bench/server-process.ts). No libuv setting and no young-generation
 * setting is added: larger semi-spaces (32, 64 MiB), `--v8-pool-size=1`, `--single-threaded-gc` and
 * UV_THREADPOOL_SIZE=2 were measured against Node's defaults in alternated runs (bench/RESULTS.md, issue 13:
 * gcflags) and none lowered a process's CPU per unit beyond the spread, while a larger young generation is resident
 * memory in every process. The ledger's old generation gets a floor (LEDGER_NODE_FLAGS, below).
 */
export const MALLOC_ARENA_MAX = '2';

/** `env` with the launcher's memory settings added where the operator has not set them. */
export function withProcessMemorySettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const set = env.MALLOC_ARENA_MAX;
  return set === undefined || set === '' ? { ...env, MALLOC_ARENA_MAX } : env;
}

/**
 * Node flags on the ledger's command line: a floor of 128 MiB under V8's old-generation allocation limit.
 *
 * Why: the ledger's heap holds ≈ 30 MiB of live objects, and V8 sets the next limit at max(1.1 × live, live + 8 MiB)
 * plus the young generation's capacity, ≈ 41 MiB (`--trace-incremental-marking`: "Start (allocation limit) v8:
 * 29MB / 41MB / 12MB"), and starts incremental marking once less than the young generation's capacity (up to
 * 16 MiB) is left below it: during a bulk load it marked again right after every mark-compact, 12–31 mark-compacts
 * per 20 anchors of 10,000 entries, each freeing ≈ 1 MiB. V8 takes a configured initial old-generation size as the
 * limit's minimum (`min_old_generation_size_` in heap.cc: "allow V8 to skip full GCs below that threshold"), so
 * marking waits until the old generation nears 128 MiB: 1–2 mark-compacts per 20 anchors (9 per 100), and the
 * ledger's CPU per record in the consortium was 18–32 % lower in each of three alternated pairs (bench/RESULTS.md,
 * issue 13: heapgc). The cost is the garbage the old generation may hold below the floor (at most ≈ 100 MiB over
 * a 30 MiB heap: a constant, not growth); measured, the ledger's peak RSS rose by 25–45 MiB and its RssAnon by
 * 0–20 MiB. Not in NODE_OPTIONS: Node refuses `--initial-old-space-size` there, so each launcher puts it on the
 * command line; an operator's NODE_OPTIONS is kept and applies as before (a `--max-old-space-size` there also caps
 * this floor at half of it). The nodes get no floor: their mark-compacts were 3–11 per 200,000 records with or
 * without one of 256 MiB, and scavenges are most of their GC.
 */
export const LEDGER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
