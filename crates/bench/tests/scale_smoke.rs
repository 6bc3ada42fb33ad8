//! A tiny in-process run of the scale axes against fastrpc: checks that each one connects,
//! counts and reports, not the figures (memory is read from this very process).

use fastrpc_bench::report::MachineInfo;
use fastrpc_bench::scale::{self, Target};
use fastrpc_bench::scale_report::{self, ScaleResults};
use fastrpc_bench::system::{self, System, Workload};
use std::time::Duration;

#[test]
fn every_scale_axis_runs_and_reports() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let addr = system::serve(System::Fastrpc, Workload::Opaque, "127.0.0.1:0")
            .await
            .unwrap();
        let t = Target {
            system: System::Fastrpc,
            addr,
            server_pid: std::process::id(),
        };
        let settle = Duration::from_millis(10);
        let c =
            scale::connections_point(t, 8, Duration::from_millis(50), Duration::from_millis(200))
                .await
                .unwrap();
        assert_eq!((c.connections, c.errors), (8, 0));
        assert!(c.calls_per_sec > 0.0 && c.p99_us > 0.0);
        assert!(c.server_peak_kib >= c.server_rss_kib && c.server_rss_kib > 0);
        let i = scale::idle_memory(t, 20, settle).await.unwrap();
        assert_eq!(i.connections, 20);
        assert!(i.server_base_kib > 0 && i.server_silent_kib > 0 && i.server_called_kib > 0);
        let s = scale::spike(t, 5, 64 * 1024, settle).await.unwrap();
        assert_eq!(
            (s.connections, s.bytes_per_call, s.errors),
            (5, 64 * 1024, 0)
        );
        assert_eq!(s.allocator, fastrpc_bench::ALLOCATOR);
        ScaleResults {
            connections: vec![c],
            idle: vec![i],
            spike: vec![s],
        }
    });
    let md = scale_report::to_markdown(&results, &MachineInfo::detect(), "test");
    assert!(md.contains("### Connections axis"));
    assert!(md.contains("| fastrpc | 8 |"));
    assert!(md.contains("| fastrpc | 20 |"));
    assert!(
        md.contains("| fastrpc | system | 5 x 65536 |")
            || md.contains("| fastrpc | mimalloc | 5 x 65536 |")
    );
}
