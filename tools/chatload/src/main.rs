//! chatload: drives a chat server of lesson 07 (or any server speaking its
//! protocol) with N clients and counts every delivery.
//!
//! ```text
//! cargo run --release -p chatload -- --clients 100 --messages 20 \
//!     --server "target/release/07_chat_6_robust --port {port} --quiet"
//! cargo run --release -p chatload -- --addr 127.0.0.1:9999 --json
//! ```
//!
//! It connects every client, checks that the server has registered each one
//! (its own hello comes back) and that every client receives every other's
//! warm-up line, then each client sends `--messages` lines carrying its
//! number, a sequence number and the send time. Every client counts what it
//! receives: delivered, lost, duplicated, out of order, and the latency of
//! each delivery (one process, one clock). The exit status is 0 when nothing
//! was lost, 1 when something was, 2 when the run could not be made.

mod line;
mod load;
mod server;
mod stats;

use clap::Parser;
use indicatif::{
    ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle,
};
use serde::Serialize;
use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "A load generator for the chat protocol of lesson 07"
)]
#[command(group(clap::ArgGroup::new("target").required(true)))]
struct Args {
    /// The server to drive, already running.
    #[arg(long, value_name = "HOST:PORT", group = "target")]
    addr: Option<String>,
    /// A command that starts the server, with `{port}` where a free port
    /// goes (split into words as a shell would, run without a shell). It is
    /// stopped at the end (its whole process group).
    #[arg(long, value_name = "COMMAND", group = "target")]
    server: Option<String>,
    /// How many clients connect.
    #[arg(long, short = 'n', default_value_t = 10)]
    #[arg(value_parser = clap::value_parser!(u32).range(1..=60_000))]
    clients: u32,
    /// How many measured lines each client sends.
    #[arg(long, short = 'm', default_value_t = 10)]
    #[arg(value_parser = clap::value_parser!(u32).range(1..))]
    messages: u32,
    /// The length of each measured line, newline included (longer when the
    /// numbers it carries need more: 13 bytes is enough for 4,096 clients,
    /// 64 lines each and a run of 17 minutes).
    #[arg(long, short = 's', value_name = "BYTES", default_value_t = 32)]
    size: usize,
    /// Print the results as one JSON object, and no progress bar.
    #[arg(long)]
    json: bool,
    /// A phase that delivers nothing for this long has ended: the warm-up
    /// fails, the run stops and counts what is missing as lost.
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    idle: f64,
    /// The longest the measured run may take [default: 30 s plus 1 s per
    /// 20,000 expected deliveries].
    #[arg(long, value_name = "SECONDS")]
    deadline: Option<f64>,
    /// How many connects may be under way at once.
    #[arg(long, value_name = "COUNT", default_value_t = 1024)]
    connect_concurrency: usize,
    /// Worker threads of chatload itself [default: one per core].
    #[arg(long, value_name = "COUNT")]
    threads: Option<usize>,
}

/// Everything a run measured; `--json` prints it as it is.
#[derive(Serialize, Default)]
struct Report {
    server: Option<String>,
    addr: String,
    clients: u64,
    messages: u64,
    size: usize,
    /// The longest measured line sent, newline included.
    line_bytes: usize,
    /// The machine's 1-minute load average when the run started.
    load_average: Option<f64>,
    chatload_threads: usize,
    connect_s: f64,
    /// From the first hello sent to every client having its own back.
    register_s: f64,
    warm_up_s: f64,
    warm_up_deliveries: u64,
    expected: u64,
    delivered: u64,
    lost: u64,
    duplicated: u64,
    out_of_order: u64,
    malformed: u64,
    /// Measured lines that came without a header of their own.
    headerless: u64,
    /// Measured lines under a header naming another address.
    wrong_sender: u64,
    disconnected: u64,
    run_s: f64,
    deliveries_per_s: f64,
    latency_p50_ms: Option<f64>,
    latency_p99_ms: Option<f64>,
    latency_max_ms: Option<f64>,
    /// chatload's CPU time during the run, all threads.
    chatload_cpu_s: Option<f64>,
    /// Deliveries chatload can take per second of one core, at this load:
    /// its ceiling is this times the cores it may use.
    chatload_deliveries_per_cpu_s: Option<f64>,
    server_cpu_s: Option<f64>,
    server_max_rss_kib: Option<u64>,
    /// The server's resident memory growth from start to all clients warm,
    /// per client.
    server_kib_per_client: Option<f64>,
    ended_by: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(error) => eprintln!("chatload: {error}"),
                }
            } else {
                print_table(&report);
            }
            if report.lost > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("chatload: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<Report, String> {
    let clients = args.clients as usize;
    let messages = args.messages as usize;
    let expected = (clients * clients * messages) as u64;
    let idle = seconds(args.idle, "--idle")?;
    let deadline = match args.deadline {
        Some(deadline) => seconds(deadline, "--deadline")?,
        None => Duration::from_secs(30 + expected / 20_000),
    };
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, |cores| cores.get())
    });
    let mut report = Report {
        server: args.server.clone(),
        clients: clients as u64,
        messages: messages as u64,
        size: args.size,
        line_bytes: line::data_len(
            args.clients - 1,
            args.messages - 1,
            // The send time of a long run: 1,000 s, in microseconds.
            1_000_000_000,
        )
        .max(args.size),
        load_average: load_average(),
        chatload_threads: threads,
        expected,
        ..Report::default()
    };
    let mut server = match &args.server {
        Some(command) => Some(server::start(command, Duration::from_secs(30))?),
        None => None,
    };
    let addr = match (&server, &args.addr) {
        (Some(server), _) => server.addr,
        (None, Some(addr)) => resolve(addr)?,
        (None, None) => return Err("give --addr or --server".into()),
    };
    report.addr = addr.to_string();
    let pid = server.as_ref().map(server::Server::pid);
    let rss_before = pid.and_then(server::rss_kib);
    let mut rss_warm = None;

    let settings = load::Settings {
        addr,
        clients,
        messages,
        size: args.size,
        connect_concurrency: args.connect_concurrency.max(1),
        quiet: idle,
        register_quiet: idle.max(Duration::from_secs(20)),
        deadline,
    };
    let progress = (!args.json && std::io::stdout().is_terminal()).then(|| {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            ProgressDrawTarget::stdout(),
        );
        let style = ProgressStyle::with_template(
            "{msg:11} [{bar:30}] {human_pos}/{human_len} {rate} {elapsed}",
        );
        if let Ok(style) = style {
            let style = style.progress_chars("=> ").with_key(
                "rate",
                |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                    let _ = write!(out, "{:.0}/s", state.per_sec());
                },
            );
            bar.set_style(style);
        }
        bar
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start tokio: {error}"));
    let outcome = runtime.and_then(|runtime| {
        runtime.block_on(load::run(&settings, &progress, || {
            rss_warm = pid.and_then(server::rss_kib);
        }))
    });
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let usage = server.as_mut().map(|server| {
        let outcome_failed = outcome.is_err();
        let output = outcome_failed.then(|| server.last_output());
        (server.stop(), output)
    });
    let outcome = match (outcome, &usage) {
        (Ok(outcome), _) => outcome,
        (Err(error), Some((_, Some(output)))) => {
            return Err(format!("{error}{output}"));
        }
        (Err(error), _) => return Err(error),
    };
    if let Some((usage, _)) = usage {
        report.server_cpu_s = usage.cpu.map(|cpu| cpu.as_secs_f64());
        report.server_max_rss_kib = usage.max_rss_kib;
    }
    if let (Some(before), Some(warm)) = (rss_before, rss_warm) {
        report.server_kib_per_client =
            Some(warm.saturating_sub(before) as f64 / clients as f64);
    }
    report.connect_s = outcome.connect.as_secs_f64();
    report.register_s = outcome.register.as_secs_f64();
    report.warm_up_s = outcome.warm_up.as_secs_f64();
    report.warm_up_deliveries = outcome.warm_deliveries;
    report.delivered = outcome.delivered;
    report.lost = expected.saturating_sub(outcome.delivered);
    report.duplicated = outcome.duplicated;
    report.out_of_order = outcome.out_of_order;
    report.malformed = outcome.malformed;
    report.headerless = outcome.headerless;
    report.wrong_sender = outcome.wrong_sender;
    report.disconnected = outcome.disconnected;
    report.run_s = outcome.run.as_secs_f64();
    if report.run_s > 0.0 {
        report.deliveries_per_s = outcome.delivered as f64 / report.run_s;
    }
    let ms = |micros: Option<u64>| micros.map(|us| us as f64 / 1000.0);
    report.latency_p50_ms = ms(outcome.latency_p50_us);
    report.latency_p99_ms = ms(outcome.latency_p99_us);
    report.latency_max_ms = ms(outcome.latency_max_us);
    report.chatload_cpu_s = outcome.own_cpu.map(|cpu| cpu.as_secs_f64());
    report.chatload_deliveries_per_cpu_s = report
        .chatload_cpu_s
        .filter(|&cpu| cpu > 0.0)
        .map(|cpu| outcome.delivered as f64 / cpu);
    report.ended_by = outcome.ended_by;
    Ok(report)
}

fn seconds(value: f64, name: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("{name}: expected a number of seconds above 0"))
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    addr.to_socket_addrs()
        .map_err(|error| format!("cannot resolve {addr}: {error}"))?
        .next()
        .ok_or_else(|| format!("{addr} has no address"))
}

fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn print_table(report: &Report) {
    let target = match &report.server {
        Some(command) => format!("{} ({command})", report.addr),
        None => report.addr.clone(),
    };
    println!("chatload → {target}");
    let mut rows: Vec<(&str, String)> = vec![
        (
            "load",
            format!(
                "{} clients × {} messages × {} bytes",
                report.clients, report.messages, report.line_bytes
            ),
        ),
        ("connect", format!("{:.2} s", report.connect_s)),
        ("register", format!("{:.2} s", report.register_s)),
        (
            "warm-up",
            format!(
                "{:.2} s, registering included ({} deliveries)",
                report.warm_up_s,
                thousands(report.warm_up_deliveries)
            ),
        ),
        ("expected", thousands(report.expected)),
        ("delivered", thousands(report.delivered)),
        ("lost", thousands(report.lost)),
        ("duplicated", thousands(report.duplicated)),
        ("out of order", thousands(report.out_of_order)),
        ("malformed", thousands(report.malformed)),
        ("no header", thousands(report.headerless)),
        ("wrong sender", thousands(report.wrong_sender)),
        ("disconnected", thousands(report.disconnected)),
        ("run", format!("{:.3} s", report.run_s)),
        (
            "deliveries/s",
            thousands(report.deliveries_per_s.round() as u64),
        ),
    ];
    for (name, value) in [
        ("latency p50", report.latency_p50_ms),
        ("latency p99", report.latency_p99_ms),
        ("latency max", report.latency_max_ms),
    ] {
        rows.push((name, value.map_or("-".into(), |ms| format!("{ms:.2} ms"))));
    }
    if let (Some(cpu), Some(rate)) =
        (report.chatload_cpu_s, report.chatload_deliveries_per_cpu_s)
    {
        rows.push((
            "chatload cpu",
            format!(
                "{cpu:.2} s ({} deliveries per cpu-second, {} threads)",
                thousands(rate.round() as u64),
                report.chatload_threads
            ),
        ));
    }
    if let Some(cpu) = report.server_cpu_s {
        rows.push(("server cpu", format!("{cpu:.2} s")));
    }
    if let Some(rss) = report.server_max_rss_kib {
        let per_client = report
            .server_kib_per_client
            .map_or(String::new(), |kib| format!(", {kib:.1} KiB per client"));
        rows.push((
            "server memory",
            format!("{:.1} MiB at most{per_client}", rss as f64 / 1024.0),
        ));
    }
    if let Some(load) = report.load_average {
        rows.push(("load average", format!("{load:.2} at the start")));
    }
    if let Some(reason) = &report.ended_by {
        rows.push(("ended by", reason.clone()));
    }
    for (name, value) in rows {
        println!("  {name:<14} {value}");
    }
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
