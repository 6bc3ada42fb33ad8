//! The fail-mode engine against fake servers, with tokio's paused clock.

use super::*;
use crate::breaker::BreakerPolicy;
use crate::discovery::ServerEntry;
use crate::options::AttemptTimeout;
use crate::plugin::Plugins;
use crate::selector::RoundRobin;
use std::sync::{Arc, Mutex};

#[derive(Debug, PartialEq)]
struct FakeError(ErrorClass);

impl Classify for FakeError {
    fn class(&self) -> ErrorClass {
        self.0
    }
}

/// How a fake server answers: after `delay_ms`, with `Ok(())` or an error of that class.
type Behaviour = dyn Fn(&str, usize) -> (u64, Result<(), ErrorClass>) + Send + Sync;

#[derive(Debug, Clone, PartialEq)]
struct Attempt {
    server: String,
    left: Option<Duration>,
    at: Duration,
}

struct Fake {
    start: Instant,
    log: Mutex<Vec<Attempt>>,
    behave: Box<Behaviour>,
}

impl Fake {
    fn new(
        behave: impl Fn(&str, usize) -> (u64, Result<(), ErrorClass>) + Send + Sync + 'static,
    ) -> Fake {
        Fake {
            start: Instant::now(),
            log: Mutex::new(Vec::new()),
            behave: Box::new(behave),
        }
    }

    /// Answers a call to `server`: the reply is the server's key.
    fn call(
        &self,
        server: String,
        left: Option<Duration>,
    ) -> impl Future<Output = Result<String, FakeError>> + '_ {
        let n = {
            let mut log = self.log.lock().unwrap();
            log.push(Attempt {
                server: server.clone(),
                left,
                at: self.start.elapsed(),
            });
            log.len()
        };
        let (delay, result) = (self.behave)(&server, n);
        async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            result.map(|()| server).map_err(FakeError)
        }
    }

    fn servers(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|a| a.server.clone())
            .collect()
    }

    fn attempts(&self) -> Vec<Attempt> {
        self.log.lock().unwrap().clone()
    }
}

fn router(n: usize, breaker: Option<BreakerPolicy>) -> Router {
    let r = Router::new(Arc::new(RoundRobin::default()), breaker, Plugins::default());
    r.set_servers(
        (0..n)
            .map(|i| ServerEntry::new(format!("tcp@s{i}:1"), ""))
            .collect(),
        (0..n).map(|_| Arc::default()).collect(),
    );
    r
}

const REQ: SelectRequest<'static> = SelectRequest {
    service_path: "Arith",
    method: "Mul",
    args: b"",
};

fn policy(retries: u32) -> RetryPolicy {
    RetryPolicy {
        retries,
        retry_interval: Duration::ZERO,
        backup_latency: Duration::from_millis(10),
        attempt_timeout: AttemptTimeout::Share,
    }
}

async fn run(
    router: &Router,
    mode: FailMode,
    p: RetryPolicy,
    deadline: Option<Instant>,
    fake: &Fake,
) -> Result<(String, String), Failure<FakeError>> {
    execute(router, mode, p, &REQ, deadline, |t, left| {
        fake.call(t.key().to_owned(), left)
    })
    .await
    .map(|(k, v)| (k.to_string(), v))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn distinct(v: &[String]) -> usize {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v.len()
}

#[test]
fn fail_modes_have_rpcx_numbers() {
    for n in 0..4 {
        assert_eq!(FailMode::from_u32(n).unwrap().as_u32(), n);
    }
    assert_eq!(FailMode::from_u32(4), None);
}

#[tokio::test(start_paused = true)]
async fn failover_retries_on_other_servers() {
    let r = router(3, None);
    let fake = Fake::new(|_, _| (1, Err(ErrorClass::Retryable)));
    let err = run(&r, FailMode::Failover, policy(3), None, &fake)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Failure::Call(FakeError(ErrorClass::Retryable))
    ));
    let servers = fake.servers();
    assert_eq!(servers.len(), 4, "retries 3 => 4 attempts");
    assert_eq!(
        distinct(&servers[..3]),
        3,
        "each retry goes to a server not yet tried"
    );
}

#[tokio::test(start_paused = true)]
async fn failover_moves_past_a_dead_server() {
    let r = router(3, None);
    let fake = Fake::new(|s, _| {
        (
            1,
            if s == "tcp@s0:1" {
                Err(ErrorClass::Retryable)
            } else {
                Ok(())
            },
        )
    });
    for _ in 0..6 {
        let (server, reply) = run(&r, FailMode::Failover, policy(3), None, &fake)
            .await
            .unwrap();
        assert_eq!(server, reply);
        assert_ne!(server, "tcp@s0:1");
    }
    let dead_tries = fake.servers().iter().filter(|s| *s == "tcp@s0:1").count();
    assert!(dead_tries >= 1 && fake.servers().len() == 6 + dead_tries);
}

#[tokio::test(start_paused = true)]
async fn failfast_makes_one_attempt() {
    let r = router(3, None);
    let fake = Fake::new(|_, _| (1, Err(ErrorClass::Retryable)));
    assert!(
        run(&r, FailMode::Failfast, policy(3), None, &fake)
            .await
            .is_err()
    );
    assert_eq!(fake.servers().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn failtry_retries_the_same_server() {
    let r = router(3, None);
    let fake = Fake::new(|_, n| {
        (
            1,
            if n < 3 {
                Err(ErrorClass::Retryable)
            } else {
                Ok(())
            },
        )
    });
    let (server, _) = run(&r, FailMode::Failtry, policy(3), None, &fake)
        .await
        .unwrap();
    let servers = fake.servers();
    assert_eq!(servers.len(), 3);
    assert!(servers.iter().all(|s| *s == server), "{servers:?}");

    let fake = Fake::new(|_, _| (1, Err(ErrorClass::Retryable)));
    assert!(
        run(&r, FailMode::Failtry, policy(2), None, &fake)
            .await
            .is_err()
    );
    assert_eq!(fake.servers().len(), 3);
    assert_eq!(distinct(&fake.servers()), 1);
}

#[tokio::test(start_paused = true)]
async fn no_mode_retries_service_errors_or_deadlines() {
    let r = router(3, None);
    for class in [ErrorClass::Service, ErrorClass::Deadline, ErrorClass::Local] {
        for mode in [
            FailMode::Failover,
            FailMode::Failtry,
            FailMode::Failfast,
            FailMode::Failbackup,
        ] {
            let fake = Fake::new(move |_, _| (1, Err(class)));
            let err = run(&r, mode, policy(3), None, &fake).await.unwrap_err();
            assert!(matches!(err, Failure::Call(FakeError(c)) if c == class));
            assert_eq!(
                fake.servers().len(),
                1,
                "{mode:?} retried a {class:?} error"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn retries_share_the_deadline() {
    let r = router(3, None);
    let fake = Fake::new(|_, _| (40, Err(ErrorClass::Retryable)));
    let deadline = Instant::now() + ms(100);
    let whole = RetryPolicy {
        attempt_timeout: AttemptTimeout::Whole,
        ..policy(10)
    };
    let err = run(&r, FailMode::Failover, whole, Some(deadline), &fake)
        .await
        .unwrap_err();
    assert!(matches!(err, Failure::Call(_)));
    let lefts: Vec<_> = fake.attempts().iter().map(|a| a.left).collect();
    assert_eq!(lefts, [Some(ms(100)), Some(ms(60)), Some(ms(20))]);

    // A deadline already passed: no attempt at all.
    let fake = Fake::new(|_, _| (1, Ok(())));
    let err = run(
        &r,
        FailMode::Failover,
        policy(3),
        Some(Instant::now()),
        &fake,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Failure::DeadlineExceeded));
    assert!(fake.servers().is_empty());
}

#[tokio::test(start_paused = true)]
async fn retry_interval_spaces_attempts() {
    let r = router(2, None);
    let fake = Fake::new(|_, _| (0, Err(ErrorClass::Retryable)));
    let p = RetryPolicy {
        retry_interval: ms(25),
        ..policy(2)
    };
    let _ = run(&r, FailMode::Failover, p, None, &fake).await;
    let at: Vec<_> = fake.attempts().iter().map(|a| a.at).collect();
    assert_eq!(at, [ms(0), ms(25), ms(50)]);
}

#[tokio::test(start_paused = true)]
async fn backup_fires_only_after_the_latency() {
    let r = router(2, None);
    // Fast primary: no backup request.
    let fake = Fake::new(|_, _| (5, Ok(())));
    run(&r, FailMode::Failbackup, policy(3), None, &fake)
        .await
        .unwrap();
    assert_eq!(fake.servers().len(), 1);

    // Slow primary (50 ms): the backup goes to the other server at exactly 10 ms and wins.
    let fake = Fake::new(|_, n| (if n == 1 { 50 } else { 5 }, Ok(())));
    let (winner, _) = run(&r, FailMode::Failbackup, policy(3), None, &fake)
        .await
        .unwrap();
    let a = fake.attempts();
    assert_eq!(a.len(), 2);
    assert_eq!((a[0].at, a[1].at), (ms(0), ms(10)));
    assert_ne!(a[0].server, a[1].server);
    assert_eq!(winner, a[1].server);
    assert_eq!(
        Instant::now() - fake.start,
        ms(15),
        "the backup's answer, not the primary's"
    );
}

#[tokio::test(start_paused = true)]
async fn backup_after_a_fast_failure_and_first_success_wins() {
    let r = router(2, None);
    // Primary fails at 2 ms: the backup goes at once, not at 10 ms.
    let fake = Fake::new(|_, n| {
        if n == 1 {
            (2, Err(ErrorClass::Retryable))
        } else {
            (5, Ok(()))
        }
    });
    let (winner, _) = run(&r, FailMode::Failbackup, policy(3), None, &fake)
        .await
        .unwrap();
    let a = fake.attempts();
    assert_eq!((a.len(), a[1].at), (2, ms(2)));
    assert_eq!(winner, a[1].server);

    // Backup fails, slow primary succeeds: the primary's answer wins.
    let fake = Fake::new(|_, n| {
        if n == 1 {
            (30, Ok(()))
        } else {
            (1, Err(ErrorClass::Retryable))
        }
    });
    let (winner, _) = run(&r, FailMode::Failbackup, policy(3), None, &fake)
        .await
        .unwrap();
    assert_eq!(winner, fake.attempts()[0].server);
}

#[tokio::test(start_paused = true)]
async fn fork_broadcast_inform() {
    let r = router(3, None);
    let fake = Fake::new(|s, _| match s {
        "tcp@s0:1" => (30, Ok(())),
        "tcp@s1:1" => (10, Ok(())),
        _ => (1, Err(ErrorClass::Retryable)),
    });
    let call = |t: Target, left| fake.call(t.key().to_owned(), left);
    let fork = execute_all(&r, AllMode::FirstSuccess, None, call)
        .await
        .unwrap();
    assert_eq!(fork.len(), 1);
    assert_eq!(&*fork[0].0, "tcp@s1:1", "the fastest success wins");

    let broadcast = execute_all(&r, AllMode::AllSucceed, None, call).await;
    assert!(matches!(broadcast, Err(Failure::Call(_))));

    let inform = execute_all(&r, AllMode::Collect, None, call).await.unwrap();
    assert_eq!(inform.len(), 3);
    assert_eq!(inform.iter().filter(|(_, r)| r.is_ok()).count(), 2);

    let all_ok = Fake::new(|_, _| (1, Ok(())));
    let all = execute_all(&r, AllMode::AllSucceed, None, |t, l| {
        all_ok.call(t.key().to_owned(), l)
    })
    .await
    .unwrap();
    assert_eq!(all.len(), 3);

    let none_ok = Fake::new(|_, _| (1, Err(ErrorClass::Retryable)));
    let fork = execute_all(&r, AllMode::FirstSuccess, None, |t, l| {
        none_ok.call(t.key().to_owned(), l)
    })
    .await;
    assert!(matches!(fork, Err(Failure::Call(_))));
}

#[tokio::test(start_paused = true)]
async fn open_breaker_takes_server_out_of_selection() {
    let r = router(3, Some(BreakerPolicy::consecutive(2, ms(1000))));
    let fake = Fake::new(|s, _| {
        (
            1,
            if s == "tcp@s0:1" {
                Err(ErrorClass::Deadline)
            } else {
                Ok(())
            },
        )
    });
    // Deadline errors are not retried: each call to s0 fails and counts.
    let mut failures = 0;
    for _ in 0..30 {
        if run(&r, FailMode::Failover, policy(3), None, &fake)
            .await
            .is_err()
        {
            failures += 1;
        }
    }
    assert_eq!(failures, 2, "the breaker opened after two failures");
    assert_eq!(
        fake.servers().iter().filter(|s| *s == "tcp@s0:1").count(),
        2
    );

    // After the open period, one half-open probe; it fails, and the breaker reopens.
    tokio::time::advance(ms(1000)).await;
    for _ in 0..30 {
        let _ = run(&r, FailMode::Failover, policy(3), None, &fake).await;
    }
    assert_eq!(
        fake.servers().iter().filter(|s| *s == "tcp@s0:1").count(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn no_server_and_all_breakers_open() {
    let fake = Fake::new(|_, _| (1, Err(ErrorClass::Retryable)));
    let empty = router(0, None);
    assert!(matches!(
        run(&empty, FailMode::Failover, policy(3), None, &fake).await,
        Err(Failure::NoServer)
    ));

    let r = router(1, Some(BreakerPolicy::consecutive(1, ms(1000))));
    assert!(matches!(
        run(&r, FailMode::Failfast, policy(0), None, &fake).await,
        Err(Failure::Call(_))
    ));
    assert!(matches!(
        run(&r, FailMode::Failover, policy(3), None, &fake).await,
        Err(Failure::AllBreakersOpen)
    ));
}

/// A server that never answers holds an attempt only for its share of the deadline; the
/// retry on another server answers within the deadline.
#[tokio::test(start_paused = true)]
async fn failover_moves_on_when_a_share_of_the_deadline_runs_out() {
    let r = router(3, None);
    let hung = Fake::new(|s, _| (if s == "tcp@s0:1" { 3_600_000 } else { 1 }, Ok(())));
    let call = |t: Target, left: Option<Duration>| {
        let fut = hung.call(t.key().to_owned(), left);
        async move {
            match left {
                Some(budget) => tokio::time::timeout(budget, fut)
                    .await
                    .unwrap_or(Err(FakeError(ErrorClass::Deadline))),
                None => fut.await,
            }
        }
    };
    let deadline = Instant::now() + ms(2000);
    let (server, _) = execute(
        &r,
        FailMode::Failover,
        policy(3),
        &REQ,
        Some(deadline),
        call,
    )
    .await
    .unwrap_or_else(|_| panic!("the call failed"));
    assert_eq!(&*server, "tcp@s1:1");
    let a = hung.attempts();
    assert_eq!(a[0].server, "tcp@s0:1");
    assert_eq!(a[0].left, Some(ms(500)), "a quarter of 2 s with 4 attempts");
    assert_eq!(a[1].at, ms(500));
    assert_eq!(a[1].left, Some(ms(500)), "a third of the 1.5 s left");

    // The share is not taken under `Whole`, nor by calls without a deadline.
    let whole = RetryPolicy {
        attempt_timeout: AttemptTimeout::Whole,
        ..policy(3)
    };
    assert_eq!(whole.budget(Some(ms(2000)), 4), (Some(ms(2000)), false));
    assert_eq!(policy(3).budget(None, 4), (None, false));
    let fixed = RetryPolicy {
        attempt_timeout: AttemptTimeout::Fixed(ms(300)),
        ..policy(3)
    };
    assert_eq!(fixed.budget(None, 4), (Some(ms(300)), true));
    assert_eq!(fixed.budget(Some(ms(200)), 4), (Some(ms(200)), false));
}

/// The default breaker counts timeouts only: connection failures leave it closed (the
/// reconnect backoff handles dead servers), timeouts open it.
#[tokio::test(start_paused = true)]
async fn default_breaker_counts_timeouts_not_connection_failures() {
    let r = router(1, Some(BreakerPolicy::DEFAULT));
    let refused = Fake::new(|_, _| (1, Err(ErrorClass::Retryable)));
    for _ in 0..10 {
        let _ = run(&r, FailMode::Failfast, policy(0), None, &refused).await;
    }
    assert_eq!(
        refused.servers().len(),
        10,
        "connection failures never open it"
    );
    let hung = Fake::new(|_, _| (1, Err(ErrorClass::Deadline)));
    for _ in 0..10 {
        let _ = run(&r, FailMode::Failfast, policy(0), None, &hung).await;
    }
    assert_eq!(hung.servers().len(), 3, "three timeouts in a row open it");
}
