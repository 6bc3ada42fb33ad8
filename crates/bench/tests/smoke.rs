//! A tiny in-process run of the harness against the bare baseline: checks the counting, not
//! the speed.

use fastrpc_bench::load::{self, LoadSpec, Mode};
use fastrpc_bench::report::{self, MachineInfo, PointResult};
use fastrpc_bench::system::{self, Connections, System, Workload};
use std::time::Duration;

fn smoke(mode: Mode) -> PointResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = system::serve(System::Bare, Workload::Opaque, "127.0.0.1:0")
            .await
            .unwrap();
        let conns = Connections::open(System::Bare, Workload::Opaque, addr, 1)
            .await
            .unwrap();
        let spec = LoadSpec {
            mode,
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(200),
            server_pid: Some(std::process::id()),
        };
        let run_started = std::time::Instant::now();
        let m = load::run(&conns, &spec).await.unwrap();
        let run_took = run_started.elapsed();
        assert!(m.calls > 0, "no call was counted");
        assert_eq!(m.errors, 0);
        assert_eq!(m.histogram.len(), m.calls, "histogram count != calls");
        // The window's length depends on how late the timers fire on a loaded machine, so
        // only its bounds are checked: it is not empty and lies inside the run.
        assert!(m.elapsed > Duration::ZERO, "empty measuring window");
        assert!(
            m.elapsed <= run_took,
            "window {:?} longer than the run {run_took:?}",
            m.elapsed
        );
        assert!(m.server_cpu.is_some());
        PointResult::new("bare", "opaque", &spec, conns.len(), &m)
    })
}

#[test]
fn closed_loop_counts_are_consistent() {
    let r = smoke(Mode::Closed { concurrency: 4 });
    assert!(r.calls_per_sec > 0.0);
    assert!(r.p50_us > 0.0 && r.p50_us <= r.p99_us && r.p99_us <= r.max_us);
    let csv = report::to_csv(std::slice::from_ref(&r));
    assert_eq!(csv.lines().count(), 2);
    let md = report::to_markdown(std::slice::from_ref(&r), &MachineInfo::detect(), "test");
    assert!(md.contains("| bare | 4 |"));
    assert!(report::to_svg(std::slice::from_ref(&r), "opaque").is_some());
}

#[test]
fn open_loop_counts_are_consistent() {
    let r = smoke(Mode::Open {
        rate: 2000,
        max_outstanding: 64,
    });
    assert!(r.calls > 0);
    // At 2000/s over 0.2 s about 400 calls are due; allow for a slow machine.
    assert!(
        r.calls <= 500,
        "more calls than were scheduled: {}",
        r.calls
    );
}
