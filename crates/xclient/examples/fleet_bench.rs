//! Fleet benchmark: XClient calls/s and client CPU per call as the number of servers grows.
//!
//! One server process (this binary, re-run with `--serve`) listens on N distinct loopback
//! addresses `127.1.x.y:port` with the same port, so the XClient sees N servers while the
//! server side's work stays that of one process. For each N (`--sizes`), `--callers` tasks
//! call `Arith.Mul` in a loop for `--secs` seconds after a warm-up second, through:
//!
//! * `plain`: one plain `Client` over one connection (the reference, at every N);
//! * `hand`: N plain `Client`s picked round robin by hand (an atomic counter), and
//!   `hand-random`: picked at random: the floor for any client that keeps one connection per
//!   server, so the XClient rows show what discovery, selection and fault tolerance add on top
//!   of the I/O that N connections cost;
//! * `xclient`: an XClient (Failover, 2 s call timeout) in each select mode of `--modes`.
//!
//! With `--rounds R` every row is measured R times, the rows of one N interleaved round by
//! round, and the median is printed with the range: on a machine whose speed drifts, a slow
//! minute then falls on every row alike. Client CPU is this process's user + system time
//! (`getrusage`) divided by the calls made; the server runs in the child and is not counted.
//! With `--count-allocs`, also this process's allocations per call.
//! Then (unless `--no-extras`) the time to apply a discovery update of every entry and the
//! cost of one selection.
//!
//! ```text
//! cargo xtask fleet-bench                       # the whole table, one round (about 3 minutes)
//! cargo run --release -p fastrpc-xclient --example fleet_bench -- \
//!     --sizes 1,1000 --modes rr,random --rows plain,hand,hand-random,xclient --rounds 5 --no-extras
//! ```

use fastrpc_server::{Context, Server, ServiceError};
use fastrpc_xclient::{
    CallOptions, Client, ClientOptions, FailMode, MultipleServersDiscovery, SelectMode,
    SelectRequest, ServerEntry, XClient, XClientOptions,
};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The system allocator, counting allocations while `--count-allocs` is on (a relaxed load
/// per allocation otherwise): allocations per call are a figure this machine's noise cannot
/// move.
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: as above.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
        serve(n);
        return;
    }
    let cfg = Config::parse(&args).unwrap_or_else(|e| {
        eprintln!("fleet_bench: {e}\n{USAGE}");
        std::process::exit(2)
    });
    run(&cfg);
}

const USAGE: &str = "usage: fleet_bench [--sizes 1,10,100,1000] [--modes random,rr,wrr,icmp,hash,closest] \
[--secs 2] [--callers 64] [--rounds 1] [--rows plain,hand,hand-random,xclient] [--no-extras] [--count-allocs]";

struct Config {
    sizes: Vec<usize>,
    modes: Vec<SelectMode>,
    secs: f64,
    callers: usize,
    /// Every row is measured this many times, the rows of one N interleaved round by round,
    /// and the median is reported (with the spread), so that a slow minute of the machine
    /// falls on every row alike instead of on one.
    rounds: usize,
    rows: Rows,
    /// The update-time and selection-cost tables.
    extras: bool,
}

/// Which clients are measured.
#[derive(Clone, Copy)]
struct Rows {
    plain: bool,
    hand: bool,
    hand_random: bool,
    xclient: bool,
}

impl Config {
    fn parse(args: &[String]) -> Result<Config, String> {
        let mut cfg = Config {
            sizes: vec![1, 10, 100, 1000],
            modes: vec![
                SelectMode::Random,
                SelectMode::RoundRobin,
                SelectMode::WeightedRoundRobin,
                SelectMode::WeightedIcmp,
                SelectMode::ConsistentHash,
                SelectMode::Closest,
            ],
            secs: 2.0,
            callers: 64,
            rounds: 1,
            rows: Rows {
                plain: true,
                hand: true,
                hand_random: false,
                xclient: true,
            },
            extras: true,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--no-extras" {
                cfg.extras = false;
                continue;
            }
            if flag == "--count-allocs" {
                COUNTING.store(true, Ordering::Relaxed);
                continue;
            }
            let value = it.next().ok_or(format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--sizes" => {
                    cfg.sizes = value
                        .split(',')
                        .map(|s| s.parse().map_err(|e| format!("--sizes: {e}")))
                        .collect::<Result<_, _>>()?;
                }
                "--modes" => {
                    cfg.modes = value
                        .split(',')
                        .map(|m| mode_named(m).ok_or(format!("unknown mode {m}")))
                        .collect::<Result<_, _>>()?;
                }
                "--secs" => cfg.secs = value.parse().map_err(|e| format!("--secs: {e}"))?,
                "--callers" => {
                    cfg.callers = value.parse().map_err(|e| format!("--callers: {e}"))?
                }
                "--rounds" => {
                    cfg.rounds = value
                        .parse::<usize>()
                        .map_err(|e| format!("--rounds: {e}"))?
                        .max(1)
                }
                "--rows" => {
                    let names: Vec<&str> = value.split(',').collect();
                    if let Some(bad) = names
                        .iter()
                        .find(|n| !["plain", "hand", "hand-random", "xclient"].contains(n))
                    {
                        return Err(format!("unknown row kind {bad}"));
                    }
                    cfg.rows = Rows {
                        plain: names.contains(&"plain"),
                        hand: names.contains(&"hand"),
                        hand_random: names.contains(&"hand-random"),
                        xclient: names.contains(&"xclient"),
                    };
                }
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        Ok(cfg)
    }
}

fn mode_named(name: &str) -> Option<SelectMode> {
    Some(match name {
        "random" => SelectMode::Random,
        "rr" => SelectMode::RoundRobin,
        "wrr" => SelectMode::WeightedRoundRobin,
        "icmp" => SelectMode::WeightedIcmp,
        "hash" => SelectMode::ConsistentHash,
        "closest" => SelectMode::Closest,
        _ => return None,
    })
}

/// The i-th loopback address: 127.1.0.1, 127.1.0.2, ..., 127.1.3.232 for i = 999.
fn address(i: usize, port: u16) -> SocketAddr {
    let ip = std::net::Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250) as u8 + 1);
    SocketAddr::from((ip, port))
}

/// The child: one server listening on `n` addresses with one port, until stdin closes.
fn serve(n: usize) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let server = Server::builder()
            .handler(
                "Arith",
                "Mul",
                |_ctx: Context, (a, b): (i64, i64)| async move {
                    Ok::<_, ServiceError>(a.wrapping_mul(b))
                },
            )
            .build();
        let first = tokio::net::TcpListener::bind(address(0, 0))
            .await
            .expect("bind");
        let port = first.local_addr().expect("addr").port();
        let mut handles = vec![server.serve_listener(first).expect("serve")];
        for i in 1..n {
            let l = tokio::net::TcpListener::bind(address(i, port))
                .await
                .unwrap_or_else(|e| panic!("bind {}: {e}", address(i, port)));
            handles.push(server.serve_listener(l).expect("serve"));
        }
        println!("ready {port}");
        std::io::stdout().flush().expect("stdout");
        // The parent closes our stdin when it is done (or dies).
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        })
        .await
        .expect("stdin");
        drop(handles);
    });
}

struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    fn start(n: usize) -> ServerProcess {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .args(["--serve", &n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server ready line");
        let port = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("server did not start: {line:?}"));
        ServerProcess { child, port }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// User plus system CPU time of this process so far.
fn self_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we hand it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

struct Figures {
    calls_per_sec: f64,
    cpu_us_per_call: f64,
    /// Allocations (and reallocations) of this process per call, with `--count-allocs`.
    allocs_per_call: f64,
    failed: u64,
}

/// The median time, over 5 tries, from a discovery update of every entry (new metadata, same
/// servers) until the client uses the new list, with a connection open to every server. It
/// runs on a current-thread runtime, so that it measures the update's work and not how soon a
/// busy machine schedules another thread.
fn update_time(mode: SelectMode, n: usize, port: u16) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let discovery = MultipleServersDiscovery::new(entries(n, port));
        let opts = XClientOptions::default().position(10.0, 10.0);
        let xc = XClient::new(
            "Arith",
            FailMode::Failover,
            SelectMode::RoundRobin,
            discovery.clone(),
            opts,
        )
        .expect("xclient");
        // Round robin opens a connection to every server.
        for i in 0..n as i64 {
            let _ = xc.call::<_, i64>("Mul", &(i, 2)).await;
        }
        xc.set_selector(mode.build(Some((10.0, 10.0))).expect("selector"));
        // WeightedIcmp measures the new servers in the background: let it finish first.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut times = Vec::new();
        for round in 0..5 {
            let list: Vec<ServerEntry> = entries(n, port)
                .into_iter()
                .map(|e| ServerEntry::new(e.key(), format!("{}&round={round}", e.raw_metadata())))
                .collect();
            let before = xc.servers();
            let start = Instant::now();
            discovery.update(list);
            while Arc::ptr_eq(&xc.servers(), &before) {
                tokio::task::yield_now().await;
            }
            times.push(start.elapsed());
        }
        xc.close();
        times.sort();
        times[2]
    })
}

fn print_update_times(cfg: &Config, port: u16) {
    println!("\nApplying an update of every entry, connections open (median of 5, µs):\n");
    let header: Vec<String> = cfg.sizes.iter().map(|n| format!("N = {n}")).collect();
    println!("| mode | {} |", header.join(" | "));
    println!("|---|{}", "---:|".repeat(cfg.sizes.len()));
    for &mode in &cfg.modes {
        let cells: Vec<String> = cfg
            .sizes
            .iter()
            .map(|&n| format!("{:.0}", update_time(mode, n, port).as_secs_f64() * 1e6))
            .collect();
        println!("| {mode:?} | {} |", cells.join(" | "));
    }
}

/// Anything that makes one `Arith.Mul` call.
trait Caller: Clone + Send + Sync + 'static {
    fn mul(&self, a: i64, b: i64) -> impl Future<Output = bool> + Send;
}

impl Caller for XClient {
    async fn mul(&self, a: i64, b: i64) -> bool {
        let opts = CallOptions::default().timeout(CALL_TIMEOUT);
        self.call_with::<_, i64>("Mul", &(a, b), opts).await.is_ok()
    }
}

impl Caller for Client {
    async fn mul(&self, a: i64, b: i64) -> bool {
        let opts = CallOptions::default().timeout(CALL_TIMEOUT);
        self.call_with::<_, i64>("Arith", "Mul", &(a, b), opts)
            .await
            .is_ok()
    }
}

/// The floor for any client that keeps one connection per server: N plain `Client`s, one
/// per server, picked by hand (round robin on an atomic counter, or at random), no
/// discovery, no breaker.
#[derive(Clone)]
struct HandPicked {
    clients: Arc<Vec<Client>>,
    next: Arc<AtomicU64>,
    /// Picks at random instead (`fastrand`, as the XClient's Random selector).
    random: bool,
}

impl HandPicked {
    async fn connect(n: usize, port: u16, random: bool) -> HandPicked {
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            let addr = format!("tcp@{}", address(i, port));
            clients.push(Client::connect(&addr).await.expect("connect"));
        }
        HandPicked {
            clients: Arc::new(clients),
            next: Arc::default(),
            random,
        }
    }

    fn close(&self) {
        self.clients.iter().for_each(Client::close);
    }
}

impl Caller for HandPicked {
    async fn mul(&self, a: i64, b: i64) -> bool {
        let i = if self.random {
            fastrand::usize(..self.clients.len())
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) as usize % self.clients.len()
        };
        self.clients[i].mul(a, b).await
    }
}

/// Runs `callers` loops for a warm-up second, then measures for `secs`.
async fn measure<C: Caller>(caller: C, callers: usize, secs: f64) -> Figures {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..callers as i64)
        .map(|id| {
            let (c, ok, failed, stop) = (caller.clone(), ok.clone(), failed.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    if c.mul(id, n).await {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (ok0, failed0, cpu0, allocs0, t0) = (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        self_cpu(),
        ALLOCATIONS.load(Ordering::Relaxed),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let (ok1, failed1, cpu1, allocs1, elapsed) = (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        self_cpu(),
        ALLOCATIONS.load(Ordering::Relaxed),
        t0.elapsed(),
    );
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let calls = (ok1 - ok0).max(1);
    Figures {
        calls_per_sec: calls as f64 / elapsed.as_secs_f64(),
        cpu_us_per_call: (cpu1 - cpu0).as_secs_f64() * 1e6 / calls as f64,
        allocs_per_call: (allocs1 - allocs0) as f64 / calls as f64,
        failed: failed1 - failed0,
    }
}

fn entries(n: usize, port: u16) -> Vec<ServerEntry> {
    (0..n)
        .map(|i| {
            let meta = format!(
                "weight={}&latitude={}&longitude={}",
                i % 3 + 1,
                (i % 180) as f64 - 90.0,
                (i % 360) as f64 - 180.0
            );
            ServerEntry::new(format!("tcp@{}", address(i, port)), meta)
        })
        .collect()
}

/// One row of the table: a kind of client at one N.
#[derive(Clone, Copy)]
enum RowKind {
    Plain,
    Hand,
    HandRandom,
    XClient(SelectMode),
}

impl RowKind {
    fn label(self) -> String {
        match self {
            RowKind::Plain => "plain Client (1 connection)".to_owned(),
            RowKind::Hand => "N plain Clients, round robin by hand".to_owned(),
            RowKind::HandRandom => "N plain Clients, random by hand".to_owned(),
            RowKind::XClient(mode) => format!("XClient {mode:?}"),
        }
    }
}

fn row_kinds(cfg: &Config) -> Vec<RowKind> {
    let mut kinds = Vec::new();
    if cfg.rows.plain {
        kinds.push(RowKind::Plain);
    }
    if cfg.rows.hand {
        kinds.push(RowKind::Hand);
    }
    if cfg.rows.hand_random {
        kinds.push(RowKind::HandRandom);
    }
    if cfg.rows.xclient {
        kinds.extend(cfg.modes.iter().map(|&m| RowKind::XClient(m)));
    }
    kinds
}

/// Measures one row once.
async fn measure_row(kind: RowKind, n: usize, port: u16, cfg: &Config) -> Figures {
    let f = match kind {
        RowKind::Plain => {
            let addr = format!("tcp@{}", address(0, port));
            let client = Client::connect_with(&addr, ClientOptions::default())
                .await
                .expect("connect");
            let f = measure(client.clone(), cfg.callers, cfg.secs).await;
            client.close();
            f
        }
        RowKind::Hand | RowKind::HandRandom => {
            let random = matches!(kind, RowKind::HandRandom);
            let hand = HandPicked::connect(n, port, random).await;
            let f = measure(hand.clone(), cfg.callers, cfg.secs).await;
            hand.close();
            f
        }
        RowKind::XClient(mode) => {
            let discovery = MultipleServersDiscovery::new(entries(n, port));
            let opts = XClientOptions::default().position(10.0, 10.0);
            let xc =
                XClient::new("Arith", FailMode::Failover, mode, discovery, opts).expect("xclient");
            let f = measure(xc.clone(), cfg.callers, cfg.secs).await;
            xc.close();
            f
        }
    };
    // Let the server close the connections before the next row.
    tokio::time::sleep(Duration::from_millis(200)).await;
    f
}

fn run(cfg: &Config) {
    let max = cfg.sizes.iter().copied().max().unwrap_or(1);
    let server = ServerProcess::start(max);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "fleet_bench: {} callers, Failover, {} s per row, {} round(s) interleaved (median, [min-max]), \
         server process on {max} loopback addresses",
        cfg.callers, cfg.secs, cfg.rounds
    );
    println!(
        "\n| servers | client | calls/s | % of plain | % of hand | client CPU/call | allocations/call | failed |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    let kinds = row_kinds(cfg);
    rt.block_on(async {
        for &n in &cfg.sizes {
            let mut results: Vec<Vec<Figures>> = kinds.iter().map(|_| Vec::new()).collect();
            for _ in 0..cfg.rounds {
                for (i, &kind) in kinds.iter().enumerate() {
                    results[i].push(measure_row(kind, n, server.port, cfg).await);
                }
            }
            let summaries: Vec<Summary> = results.iter().map(|r| Summary::of(r)).collect();
            let reference = |want: fn(&RowKind) -> bool| {
                kinds
                    .iter()
                    .position(want)
                    .map(|i| summaries[i].calls.median)
            };
            let plain = reference(|k| matches!(k, RowKind::Plain));
            let hand = reference(|k| matches!(k, RowKind::Hand));
            for (kind, s) in kinds.iter().zip(&summaries) {
                row(n, &kind.label(), s, plain, hand);
            }
        }
    });
    if cfg.extras {
        print_update_times(cfg, server.port);
    }
    drop(server);
    if cfg.extras {
        print_selection_costs(cfg);
    }
}

/// Median and spread of one figure over the rounds.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let mid = values.len() / 2;
        let median = if values.len() % 2 == 0 {
            (values[mid - 1] + values[mid]) / 2.0
        } else {
            values[mid]
        };
        Spread {
            median,
            min: values[0],
            max: values[values.len() - 1],
        }
    }

    fn show(&self, decimals: usize) -> String {
        if self.min == self.max {
            format!("{:.decimals$}", self.median)
        } else {
            format!(
                "{:.decimals$} [{:.decimals$}-{:.decimals$}]",
                self.median, self.min, self.max
            )
        }
    }
}

struct Summary {
    calls: Spread,
    cpu: Spread,
    allocs: Spread,
    failed: u64,
}

impl Summary {
    fn of(rounds: &[Figures]) -> Summary {
        Summary {
            calls: Spread::of(rounds.iter().map(|f| f.calls_per_sec).collect()),
            cpu: Spread::of(rounds.iter().map(|f| f.cpu_us_per_call).collect()),
            allocs: Spread::of(rounds.iter().map(|f| f.allocs_per_call).collect()),
            failed: rounds.iter().map(|f| f.failed).sum(),
        }
    }
}

/// Nanoseconds per `Selector::select` on the whole list of `n` servers, after the update
/// that lets the selector precompute: the selection cost alone, without any I/O.
fn selection_ns(mode: SelectMode, n: usize) -> f64 {
    let list = entries(n, 1);
    let selector = mode.build(Some((10.0, 10.0))).expect("selector");
    selector.update_servers(&list);
    let picks = 200_000u32;
    let start = Instant::now();
    for i in 0..picks {
        let args = i.to_le_bytes();
        let req = SelectRequest {
            service_path: "Arith",
            method: "Mul",
            args: &args,
        };
        std::hint::black_box(selector.select(&req, &list));
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(picks)
}

fn print_selection_costs(cfg: &Config) {
    println!("\nSelection alone (ns per pick on the whole list, after its update):\n");
    let header: Vec<String> = cfg.sizes.iter().map(|n| format!("N = {n}")).collect();
    println!("| mode | {} |", header.join(" | "));
    println!("|---|{}", "---:|".repeat(cfg.sizes.len()));
    for &mode in &cfg.modes {
        let cells: Vec<String> = cfg
            .sizes
            .iter()
            .map(|&n| format!("{:.0}", selection_ns(mode, n)))
            .collect();
        println!("| {mode:?} | {} |", cells.join(" | "));
    }
}

fn row(n: usize, client: &str, s: &Summary, plain: Option<f64>, hand: Option<f64>) {
    let pct = |of: Option<f64>| {
        of.map(|r| format!("{:.0}%", s.calls.median * 100.0 / r))
            .unwrap_or_else(|| "-".to_owned())
    };
    let allocs = if COUNTING.load(Ordering::Relaxed) {
        s.allocs.show(1)
    } else {
        "-".to_owned()
    };
    println!(
        "| {n} | {client} | {} | {} | {} | {} µs | {allocs} | {} |",
        s.calls.show(0),
        pct(plain),
        pct(hand),
        s.cpu.show(2),
        s.failed
    );
}
