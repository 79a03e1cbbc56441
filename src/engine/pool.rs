//! The one worker pool: independent jobs on a bounded number of scoped
//! threads, results in input order.
//!
//! - **Bounded threads**: at most the pool's worker count ([`Pool::new`]:
//!   a given N ≥ 1; [`Pool::cores`]: [`crate::cores`]), and never more
//!   than there are jobs.
//! - **Bounded queue**: at most the pool's window of jobs ([`Pool::window`],
//!   default 4 per worker) are taken from the input and not yet handed to
//!   the sink; the job and result channels and the reordering buffer hold
//!   no more than that, whatever the input's length. [`Pool::map`] collects
//!   every result anyway, so it lets the whole input be in flight.
//! - **Input order**: the sink sees results in the order of the input,
//!   whichever worker finishes first.
//! - **Contained panics**: a job that panics becomes that job's
//!   [`JobPanic`]; the other jobs and the process go on. The worker's state
//!   ([`Pool::run_with`]) is made again for its next job.
//! - Each worker is a spawned thread, even the only one (a caller may
//!   need the job on a thread of its own, e.g. for its heap:
//!   `crate::worker_heap`). When no thread can be spawned at all the jobs
//!   run on the calling thread, one after another.
//!
//! What is not a pool, and does not use this: the streaming reader/parser
//! pairs (`ingest::bpftool_json::read_dump_batches`, `engine::dumps`), the
//! collector's reader/printer pair (`collect::dump`), `diff`'s two bundle
//! walks in lockstep, and the two-way splits of one piece of work (BTF's
//! reference check, a large dump chunk parsed in two halves): those are
//! pipelines or fork-joins of exactly two threads, with no queue of jobs.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Mutex};

/// A job that panicked: its message, as far as the panic carried one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("internal error: a worker job panicked: {message}")]
pub struct JobPanic {
    pub message: String,
}

impl JobPanic {
    fn from_payload(payload: Box<dyn std::any::Any + Send>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "(no message)".to_string()
        };
        JobPanic { message }
    }
}

/// A job's outcome.
pub type JobResult<R> = Result<R, JobPanic>;

/// A bounded pool of scoped worker threads (see the module docs).
#[derive(Debug, Clone)]
pub struct Pool {
    workers: usize,
    window: Option<usize>,
    name: String,
    stack_size: Option<usize>,
}

impl Default for Pool {
    /// [`Pool::cores`].
    fn default() -> Self {
        Pool::cores()
    }
}

impl Pool {
    /// At most `workers` threads (at least one).
    pub fn new(workers: usize) -> Self {
        Pool {
            workers: workers.max(1),
            window: None,
            name: "bpfcase-worker".into(),
            stack_size: None,
        }
    }

    /// One thread per core this process may run on.
    pub fn cores() -> Self {
        Pool::new(crate::cores())
    }

    /// Jobs in flight at most (taken from the input, result not yet given
    /// to the sink); at least the worker count. Default 4 per worker.
    pub fn window(mut self, jobs: usize) -> Self {
        self.window = Some(jobs.max(self.workers));
        self
    }

    /// The workers' thread name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The workers' stack size (the platform's default otherwise).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The most threads this pool runs.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// `job` on each of `items`; the results in the order of `items`.
    /// Every job may be in flight at once (the results are all kept).
    pub fn map<T: Sync, R: Send>(
        &self,
        items: &[T],
        job: impl Fn(&T) -> R + Sync,
    ) -> Vec<JobResult<R>> {
        self.map_with(items, || (), |_, item| job(item))
    }

    /// [`Pool::map`] with a state per worker, made by `init` on the
    /// worker's own thread before its first job (and again after a job
    /// of it panicked).
    pub fn map_with<T: Sync, S, R: Send>(
        &self,
        items: &[T],
        init: impl Fn() -> S + Sync,
        job: impl Fn(&mut S, &T) -> R + Sync,
    ) -> Vec<JobResult<R>> {
        let mut out = Vec::with_capacity(items.len());
        let pool = Pool {
            window: Some(self.window.unwrap_or(items.len()).max(self.workers)),
            ..self.clone()
        };
        pool.run_with(items.iter(), init, job, |_, r| out.push(r));
        out
    }

    /// `job` on each item of `items`, handing `sink` each result with its
    /// index in input order, on the calling thread. At most the window's
    /// jobs are taken from `items` ahead of the sink.
    pub fn run<I: Send, R: Send>(
        &self,
        items: impl IntoIterator<Item = I>,
        job: impl Fn(I) -> R + Sync,
        sink: impl FnMut(usize, JobResult<R>),
    ) {
        self.run_with(items, || (), |_, item| job(item), sink)
    }

    /// [`Pool::run`] with a state per worker (as [`Pool::map_with`]).
    pub fn run_with<I: Send, S, R: Send>(
        &self,
        items: impl IntoIterator<Item = I>,
        init: impl Fn() -> S + Sync,
        job: impl Fn(&mut S, I) -> R + Sync,
        mut sink: impl FnMut(usize, JobResult<R>),
    ) {
        let mut items = items.into_iter().enumerate().peekable();
        if items.peek().is_none() {
            return;
        }
        let most_jobs = items.size_hint().1.unwrap_or(usize::MAX).max(1);
        let workers = self.workers.min(most_jobs);
        let window = self.window.unwrap_or(4 * self.workers).max(workers);
        // One job on a worker: the state is made on first use (and again
        // after a panic), inside the same guard as the job.
        let one = |state: &mut Option<S>, item: I| -> JobResult<R> {
            let r = catch_unwind(AssertUnwindSafe(|| {
                let s = state.get_or_insert_with(&init);
                job(s, item)
            }));
            r.map_err(|p| {
                *state = None;
                JobPanic::from_payload(p)
            })
        };
        let (job_tx, job_rx) = mpsc::sync_channel::<(usize, I)>(window);
        let job_rx = Mutex::new(job_rx);
        let (res_tx, res_rx) = mpsc::sync_channel::<(usize, JobResult<R>)>(window);
        // The senders move into the scope: however it ends (a panicking
        // sink too), they are dropped there and the workers stop.
        std::thread::scope(|scope| {
            let mut spawned = 0;
            for _ in 0..workers {
                let res_tx = res_tx.clone();
                let (job_rx, one) = (&job_rx, &one);
                let mut builder = std::thread::Builder::new().name(self.name.clone());
                if let Some(bytes) = self.stack_size {
                    builder = builder.stack_size(bytes);
                }
                let worker = builder.spawn_scoped(scope, move || {
                    let mut state = None;
                    loop {
                        // The lock is held only to take the next job.
                        let next = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok((i, item)) = next else { break };
                        if res_tx.send((i, one(&mut state, item))).is_err() {
                            break;
                        }
                    }
                });
                if worker.is_err() {
                    break;
                }
                spawned += 1;
            }
            drop(res_tx);
            if spawned == 0 {
                // No thread to be had: every job here, in order.
                drop(job_tx);
                let mut state = None;
                for (i, item) in items {
                    sink(i, one(&mut state, item));
                }
                return;
            }
            // Jobs go out while fewer than `window` are in flight; results
            // are put back in order. Neither channel can fill past `window`,
            // so neither side ever waits on the other in a circle.
            let (mut sent, mut given) = (0usize, 0usize);
            let mut waiting: BTreeMap<usize, JobResult<R>> = BTreeMap::new();
            loop {
                while sent - given < window {
                    let Some(job) = items.next() else { break };
                    if job_tx.send(job).is_err() {
                        break;
                    }
                    sent += 1;
                }
                if given == sent {
                    break;
                }
                let Ok((i, r)) = res_rx.recv() else { break };
                waiting.insert(i, r);
                while let Some(r) = waiting.remove(&given) {
                    sink(given, r);
                    given += 1;
                }
            }
            // Closing the queue lets the workers end.
            drop(job_tx);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn results_keep_input_order() {
        let items: Vec<u64> = (0..200).collect();
        // Later items finish first.
        let out = Pool::new(4).map(&items, |&n| {
            std::thread::sleep(Duration::from_micros(200 - n));
            n * 2
        });
        let got: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(got, items.iter().map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn at_most_n_jobs_run_at_once() {
        for n in [1, 2, 3] {
            let running = AtomicUsize::new(0);
            let most = AtomicUsize::new(0);
            let threads = Mutex::new(std::collections::HashSet::new());
            let items: Vec<u32> = (0..40).collect();
            let out = Pool::new(n).map(&items, |_| {
                threads.lock().unwrap().insert(std::thread::current().id());
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
                running.fetch_sub(1, Ordering::SeqCst);
            });
            assert_eq!(out.len(), 40);
            assert!(most.load(Ordering::SeqCst) <= n, "n={n}");
            let threads = threads.into_inner().unwrap();
            assert!(threads.len() <= n, "n={n}: {} threads", threads.len());
            // Each worker is a spawned thread, even the only one.
            assert!(!threads.contains(&std::thread::current().id()));
        }
    }

    #[test]
    fn a_panic_is_that_jobs_error_only() {
        let items: Vec<u32> = (0..20).collect();
        let inits = AtomicUsize::new(0);
        let out = Pool::new(2).map_with(
            &items,
            || inits.fetch_add(1, Ordering::SeqCst),
            |_, &n| {
                if n == 7 {
                    panic!("job {n} broke");
                }
                n + 1
            },
        );
        for (n, r) in out.iter().enumerate() {
            match r {
                Err(e) => {
                    assert_eq!(n, 7);
                    assert_eq!(e.message, "job 7 broke");
                }
                Ok(v) => assert_eq!(*v, n as u32 + 1),
            }
        }
        assert!(out[7].is_err());
        // Two workers' states, plus one made again after the panic (at most:
        // the panicking worker may have had no job after it).
        assert!(inits.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn the_input_is_taken_at_most_a_window_ahead_of_the_sink() {
        let taken = AtomicUsize::new(0);
        let items = (0..1000u32).inspect(|_| {
            taken.fetch_add(1, Ordering::SeqCst);
        });
        let mut given = 0;
        let mut most_ahead = 0;
        Pool::new(3).window(8).run(
            items,
            |n| n,
            |i, r| {
                assert_eq!(i, given);
                assert_eq!(r.unwrap(), i as u32);
                given += 1;
                most_ahead = most_ahead.max(taken.load(Ordering::SeqCst) - given);
            },
        );
        assert_eq!(given, 1000);
        assert!(most_ahead <= 8, "{most_ahead}");
    }

    #[test]
    fn nothing_to_do_spawns_nothing() {
        let out: Vec<JobResult<()>> = Pool::new(4).map(&[] as &[u8], |_| unreachable!());
        assert!(out.is_empty());
    }
}
