//! chatbench: every chat server of lesson 07 measured by chatload, stage by
//! stage, beside the tokio reference and the seed's Python server; the
//! numbers, tables and plot of the book's performance chapter.
//!
//! ```text
//! cargo run --release -p chatload --bin chatbench -- --out book/src/performance
//! cargo run --release -p chatload --bin chatbench -- --quick
//! cargo run --release -p chatload --bin chatbench -- --servers 6,7,reference
//! cargo run --release -p chatload --bin chatbench -- \
//!     --render book/src/performance/results.json --out book/src/performance
//! ```
//!
//! It builds the chat stages, `chatload` and `chat_reference` (in the
//! profile it was built in), takes the seed's server out of
//! `../shared/seeds` (skipped, and said so, when the seeds are not there),
//! and runs chatload against every server at each `--loads`, then the
//! `--yardstick` load for the last stage, the reference and the seed in
//! turn, `--rounds` times. A run that stalls ends at chatload's deadline,
//! and one that does not end is stopped by a watchdog: nothing hangs the
//! bench. With `--out DIR` it writes `results.json`, the tables (markdown)
//! and `deliveries.svg` there.

use chatload::bench::{
    self, Kind, Load, Machine, Outcome, Results, Run, Server, Yardstick,
    render, seed,
};
use clap::Parser;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Measures every chat stage, the reference and the seed with \
             chatload, and writes the performance chapter's tables and plot"
)]
struct Args {
    /// The servers to measure: stage numbers (1-7 or stage1…), `reference`,
    /// `seed`, or `all`.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    servers: Vec<String>,
    /// The loads every server runs at, CLIENTSxMESSAGESxBYTES.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10x100x32,100x20x32,1000x10x32"
    )]
    loads: Vec<Load>,
    /// The yardstick: the last stage, the reference and the seed, in turn.
    #[arg(long, default_value = "500x20x16")]
    yardstick: Load,
    /// How many times each server runs the yardstick (the median counts).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// No yardstick.
    #[arg(long)]
    no_yardstick: bool,
    /// A small run to try the bench: 10×20 and 100×5, a yardstick of
    /// 100×10×16 once, a 60 s deadline.
    #[arg(long)]
    quick: bool,
    /// The longest a measured run may take (chatload's --deadline); what
    /// has not come by then is "not yet", and the run did not finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 240)]
    deadline: u64,
    /// A phase that delivers nothing for this long has ended (chatload's
    /// --idle).
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    idle: u64,
    /// Write results.json, the tables and the plot into this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Measure nothing: read this results.json and write its tables and
    /// plot (with --out).
    #[arg(long, value_name = "RESULTS_JSON")]
    render: Option<PathBuf>,
    /// Do not build: use the binaries already in the target directory.
    #[arg(long)]
    no_build: bool,
    /// The repository [default: where this binary was compiled from].
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Where the seed tutorials are [default: ROOT/../shared/seeds].
    #[arg(long, value_name = "DIR")]
    seeds: Option<PathBuf>,
}

/// The chat stages: binary name and what it does.
const STAGES: [(&str, &str); 7] = [
    (
        "07_chat_1_broadcast",
        "one read is one message, written to every client under the \
         table's lock",
    ),
    ("07_chat_2_stop", "stage 1, and `quit` stops it"),
    (
        "07_chat_3_leave",
        "stage 2, and a client that leaves is removed",
    ),
    (
        "07_chat_4_lock",
        "writes with the lock released, a client whose write stalls is \
         dropped",
    ),
    ("07_chat_5_lines", "stage 4, reading whole lines"),
    (
        "07_chat_6_robust",
        "a bounded queue and a writer thread per client",
    ),
    (
        "07_chat_7_batching",
        "each message stored once in a shared log, one write per batch, \
         a larger listen backlog",
    ),
];

/// A server to measure and the command that really starts it.
struct Plan {
    server: Server,
    exec: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chatbench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: Args) -> Result<(), String> {
    if let Some(path) = &args.render {
        let text = std::fs::read_to_string(path).map_err(|error| {
            format!("cannot read {}: {error}", path.display())
        })?;
        let results: Results = serde_json::from_str(&text)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        return finish(&results, args.out.as_deref());
    }
    if args.quick {
        args.loads = vec![
            Load {
                clients: 10,
                messages: 20,
                size: 32,
            },
            Load {
                clients: 100,
                messages: 5,
                size: 32,
            },
        ];
        args.yardstick = Load {
            clients: 100,
            messages: 10,
            size: 16,
        };
        args.rounds = 1;
        args.deadline = args.deadline.min(60);
    }
    let started = Instant::now();
    let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let root = match &args.root {
        Some(root) => root.clone(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    };
    let root = root
        .canonicalize()
        .map_err(|error| format!("{}: {error}", root.display()))?;
    // The binaries are beside this one: target/release (or target/debug).
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .ok_or("cannot tell where this binary is")?;
    let release = bin_dir.file_name().is_some_and(|name| name == "release");
    if !release {
        eprintln!(
            "chatbench: not a release build: the servers will be measured \
             in {}; run it with `cargo run --release`",
            bin_dir.display()
        );
    }
    let wanted = selection(&args.servers)?;
    let mut plans = plan(&wanted, &root, &bin_dir, &args)?;
    if !args.no_build {
        build(&root, release, &mut plans)?;
    }
    for plan in &mut plans {
        if plan.server.missing.is_none() && plan.exec.is_none() {
            plan.server.missing = Some("no command".into());
        }
    }
    let chatload = bin_dir.join(exe("chatload"));
    if !chatload.exists() {
        return Err(format!(
            "{} is not built: cargo build --release -p chatload",
            chatload.display()
        ));
    }
    for plan in &plans {
        if let Some(missing) = &plan.server.missing {
            eprintln!("chatbench: {}: {missing}", plan.server.name);
        }
    }

    let mut results = Results {
        generated,
        command: command_line(),
        quick: args.quick,
        machine: machine(),
        servers: plans.iter().map(|plan| plan.server.clone()).collect(),
        loads: args.loads.clone(),
        ..Results::default()
    };
    let measured: Vec<&Plan> = plans
        .iter()
        .filter(|plan| plan.server.missing.is_none())
        .collect();
    let last_stage = measured
        .iter()
        .filter(|plan| plan.server.id.starts_with("stage"))
        .max_by_key(|plan| stage_number(&plan.server.id));
    let mut yardstick_plans: Vec<&Plan> = Vec::new();
    if !args.no_yardstick && args.rounds > 0 {
        yardstick_plans.extend(last_stage.copied());
        for id in ["reference", "seed"] {
            yardstick_plans
                .extend(measured.iter().find(|plan| plan.server.id == id));
        }
        results.yardstick = Some(Yardstick {
            load: args.yardstick,
            rounds: args.rounds,
            servers: yardstick_plans
                .iter()
                .map(|plan| plan.server.id.clone())
                .collect(),
        });
    }
    let total = args.loads.len() * measured.len()
        + yardstick_plans.len() * args.rounds as usize;
    let mut done = 0;
    let limits = Limits {
        deadline: Duration::from_secs(args.deadline.max(1)),
        idle: Duration::from_secs(args.idle.max(1)),
    };
    // Load by load, so that the servers compared at one load ran close
    // together in time, under much the same load of the machine.
    for &load in &args.loads {
        for plan in &measured {
            done += 1;
            let run = measure(&chatload, plan, load, Kind::Scale, 0, &limits);
            progress(done, total, &plan.server, &run);
            results.runs.push(run);
        }
    }
    for round in 0..args.rounds {
        for plan in &yardstick_plans {
            done += 1;
            let run = measure(
                &chatload,
                plan,
                args.yardstick,
                Kind::Yardstick,
                round,
                &limits,
            );
            progress(done, total, &plan.server, &run);
            results.runs.push(run);
        }
    }
    results.took_s = started.elapsed().as_secs_f64();
    results.machine.load_after = load_average();
    finish(&results, args.out.as_deref())
}

/// Prints the overview, and writes everything into `out`.
fn finish(results: &Results, out: Option<&Path>) -> Result<(), String> {
    println!("{}", render::overview(results));
    if results.yardstick.is_some() {
        println!("{}", render::yardstick(results));
    }
    println!("{}", render::headline(results));
    if let Some(out) = out {
        let written = bench::write_all(results, out).map_err(|error| {
            format!("cannot write {}: {error}", out.display())
        })?;
        eprintln!(
            "chatbench: wrote {} files into {}",
            written.len(),
            out.display()
        );
    }
    Ok(())
}

/// The server ids asked for, in the tables' order.
fn selection(asked: &[String]) -> Result<Vec<String>, String> {
    let all: Vec<String> = (1..=STAGES.len())
        .map(|n| format!("stage{n}"))
        .chain(["reference".into(), "seed".into()])
        .collect();
    let mut wanted = Vec::new();
    for name in asked {
        let name = name.trim().to_lowercase();
        if name == "all" {
            return Ok(all);
        }
        let id = if name.parse::<usize>().is_ok() {
            format!("stage{name}")
        } else {
            name.clone()
        };
        if !all.contains(&id) {
            return Err(format!(
                "--servers: no server {name:?} (1-{}, reference, seed, all)",
                STAGES.len()
            ));
        }
        wanted.push(id);
    }
    Ok(all.into_iter().filter(|id| wanted.contains(id)).collect())
}

fn stage_number(id: &str) -> usize {
    id.trim_start_matches("stage").parse().unwrap_or(0)
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// Every server's command, and the seed's program written where the bench
/// can run it.
fn plan(
    wanted: &[String],
    root: &Path,
    bin_dir: &Path,
    args: &Args,
) -> Result<Vec<Plan>, String> {
    let shown = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let quote = |path: &Path| {
        let text = path.display().to_string();
        shlex::try_quote(&text)
            .map(|quoted| quoted.into_owned())
            .unwrap_or(text)
    };
    let mut plans = Vec::new();
    for id in wanted {
        let plan = if id.starts_with("stage") {
            let (name, about) = STAGES[stage_number(id) - 1];
            let path = bin_dir.join(exe(name));
            Plan {
                server: Server {
                    id: id.clone(),
                    name: name.into(),
                    about: about.into(),
                    command: Some(format!(
                        "{} --port {{port}} --quiet",
                        shown(&path)
                    )),
                    missing: None,
                },
                exec: Some(format!("{} --port {{port}} --quiet", quote(&path))),
            }
        } else if id == "reference" {
            let path = bin_dir.join(exe("chat_reference"));
            Plan {
                server: Server {
                    id: id.clone(),
                    name: "chat_reference".into(),
                    about: "tokio: a reader and a writer task per client, \
                            a bounded queue, buffered writes"
                        .into(),
                    command: Some(format!("{} --port {{port}}", shown(&path))),
                    missing: None,
                },
                exec: Some(format!("{} --port {{port}}", quote(&path))),
            }
        } else {
            let mut server = Server {
                id: id.clone(),
                name: "seed 003 §3.5 (Python)".into(),
                about: "the seed tutorial's server: a thread per client, \
                        sends to every client under the lock"
                    .into(),
                command: None,
                missing: None,
            };
            let seeds = match &args.seeds {
                Some(seeds) => seeds.clone(),
                None => root.join("../shared/seeds"),
            };
            let script = bin_dir
                .parent()
                .unwrap_or(bin_dir)
                .join("chatbench")
                .join("seed_chat_3_5.py");
            let prepared = seed::find(&seeds).and_then(|file| {
                let text = std::fs::read_to_string(&file).map_err(|error| {
                    format!("cannot read {}: {error}", file.display())
                })?;
                let program = seed::program(&text)?;
                let python =
                    Command::new("python3").arg("--version").output().map_err(
                        |error| format!("python3 cannot be run ({error})"),
                    )?;
                if !python.status.success() {
                    return Err("python3 --version failed".into());
                }
                if let Some(dir) = script.parent() {
                    std::fs::create_dir_all(dir).map_err(|error| {
                        format!("{}: {error}", dir.display())
                    })?;
                }
                std::fs::write(&script, program).map_err(|error| {
                    format!("{}: {error}", script.display())
                })?;
                Ok(())
            });
            let exec = match prepared {
                Ok(()) => {
                    server.command = Some(format!(
                        "python3 {} {{port}} --quiet",
                        shown(&script)
                    ));
                    Some(format!("python3 {} {{port}} --quiet", quote(&script)))
                }
                Err(error) => {
                    server.missing = Some(error);
                    None
                }
            };
            Plan { server, exec }
        };
        plans.push(plan);
    }
    Ok(plans)
}

/// Builds chatload, the reference and the chat stages asked for; a stage
/// that does not build is marked so and left out.
fn build(root: &Path, release: bool, plans: &mut [Plan]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let profile: &[&str] = if release { &["--release"] } else { &[] };
    let cargo_build = |extra: &[&str]| {
        eprintln!(
            "chatbench: cargo build {}",
            [profile, extra].concat().join(" ")
        );
        Command::new(&cargo)
            .current_dir(root)
            .arg("build")
            .args(profile)
            .args(extra)
            .status()
            .map(|status| status.success())
            .unwrap_or(false)
    };
    if !cargo_build(&[
        "-p",
        "chatload",
        "--bin",
        "chatload",
        "--bin",
        "chat_reference",
    ]) {
        return Err("chatload does not build".into());
    }
    let stages: Vec<String> = plans
        .iter()
        .filter(|plan| plan.server.id.starts_with("stage"))
        .map(|plan| plan.server.name.clone())
        .collect();
    if stages.is_empty() {
        return Ok(());
    }
    let mut all = vec!["-p", "socket-lessons"];
    for name in &stages {
        all.extend(["--bin", name.as_str()]);
    }
    if cargo_build(&all) {
        return Ok(());
    }
    // One at a time, to find which.
    for plan in plans.iter_mut() {
        if plan.server.id.starts_with("stage")
            && !cargo_build(&[
                "-p",
                "socket-lessons",
                "--bin",
                &plan.server.name,
            ])
        {
            plan.server.missing = Some("it does not build".into());
        }
    }
    Ok(())
}

struct Limits {
    deadline: Duration,
    idle: Duration,
}

/// One chatload run against `plan`'s server; never longer than the
/// deadline plus a margin for connecting and warming up.
fn measure(
    chatload: &Path,
    plan: &Plan,
    load: Load,
    kind: Kind,
    round: u32,
    limits: &Limits,
) -> Run {
    let mut run = Run {
        server: plan.server.id.clone(),
        kind,
        round,
        load,
        outcome: Outcome::Failed,
        exit: None,
        wall_s: 0.0,
        note: None,
        report: None,
    };
    let Some(exec) = &plan.exec else {
        run.note = Some("no command".into());
        return run;
    };
    let mut command = Command::new(chatload);
    command
        .args(["--server", exec, "--json"])
        .args(["--clients", &load.clients.to_string()])
        .args(["--messages", &load.messages.to_string()])
        .args(["--size", &load.size.to_string()])
        .args(["--idle", &limits.idle.as_secs().to_string()])
        .args(["--deadline", &limits.deadline.as_secs().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let started = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            run.note = Some(format!("cannot start chatload: {error}"));
            return run;
        }
    };
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = collect(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = collect(child.stderr.take().map(|p| Box::new(p) as _));
    // Connecting, registering and the warm-up come before the deadline
    // counts: a thousand clients of a slow server need a minute or two.
    let watchdog = limits.deadline + Duration::from_secs(150);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > watchdog => {
                stop(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(_) => break None,
        }
    };
    run.wall_s = started.elapsed().as_secs_f64();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    run.exit = status.and_then(|status| status.code());
    let Some(status) = status else {
        run.note =
            Some(format!("stopped by the bench after {:.0} s", run.wall_s));
        return run;
    };
    run.report = serde_json::from_str(stdout.trim()).ok();
    // The command as the tables show it, relative to the repository, not
    // the absolute path chatload was given.
    if let Some(fields) = run
        .report
        .as_mut()
        .and_then(serde_json::Value::as_object_mut)
    {
        fields.insert("server".into(), plan.server.command.clone().into());
    }
    let Some(report) = &run.report else {
        let first = stderr
            .lines()
            .next()
            .unwrap_or("no report")
            .trim_start_matches("chatload: ");
        run.note = Some(first.chars().take(240).collect());
        if status.success() {
            run.note = Some("chatload printed no report".into());
        }
        return run;
    };
    let ended_by = report
        .get("ended_by")
        .and_then(|reason| reason.as_str())
        .map(str::to_string);
    run.outcome = if ended_by.as_deref().is_some_and(|r| r.contains("deadline"))
    {
        Outcome::Unfinished
    } else if run.lost().unwrap_or(0) > 0 {
        Outcome::Lost
    } else {
        Outcome::Complete
    };
    run.note = ended_by.map(|reason| format!("ended by {reason}"));
    run
}

/// Stops a chatload that overran, and the server it started (in a process
/// group of its own).
fn stop(pid: u32) {
    #[cfg(target_os = "linux")]
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.filter_map(Result::ok) {
            let children =
                std::fs::read_to_string(task.path().join("children"))
                    .unwrap_or_default();
            for child in children.split_whitespace() {
                if let Ok(child) = child.parse::<i32>() {
                    // SAFETY: kill only sends a signal.
                    unsafe {
                        libc::kill(-child, libc::SIGKILL);
                        libc::kill(child, libc::SIGKILL);
                    }
                }
            }
        }
    }
    #[cfg(unix)]
    // SAFETY: as above; chatload leads a process group of its own.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
}

fn progress(done: usize, total: usize, server: &Server, run: &Run) {
    let what = match run.outcome {
        Outcome::Failed => {
            format!("no measurement: {}", run.note.as_deref().unwrap_or("?"))
        }
        outcome => {
            let mut text = format!(
                "{} deliveries/s, {} {}",
                run.deliveries_per_s().map_or("-".into(), render::rate),
                run.lost().map_or("-".into(), render::count),
                if outcome == Outcome::Unfinished {
                    "not yet"
                } else {
                    "lost"
                }
            );
            if let Some(p50) = run.number("latency_p50_ms") {
                text += &format!(", p50 {}", render::latency(p50));
            }
            if outcome == Outcome::Unfinished {
                text += " (did not finish)";
            }
            text
        }
    };
    eprintln!(
        "[{done}/{total}] {} {} {}{}: {what} ({:.0} s)",
        chrono::Utc::now().format("%H:%M:%S"),
        server.name,
        run.load,
        if run.kind == Kind::Yardstick {
            format!(" round {}", run.round + 1)
        } else {
            String::new()
        },
        run.wall_s
    );
}

/// How to run again what was run: the cargo command with these arguments.
fn command_line() -> String {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .map(|arg| {
            shlex::try_quote(&arg)
                .map(|quoted| quoted.into_owned())
                .unwrap_or(arg)
        })
        .collect();
    let mut command =
        "cargo run --release -p chatload --bin chatbench".to_string();
    if !args.is_empty() {
        command += " -- ";
        command += &args.join(" ");
    }
    command
}

fn machine() -> Machine {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map_or("unknown CPU".into(), |(_, model)| {
            model.split_whitespace().collect::<Vec<_>>().join(" ")
        });
    let kernel = format!(
        "{} {}",
        read("/proc/sys/kernel/ostype").trim(),
        read("/proc/sys/kernel/osrelease").trim()
    );
    let memory_mib = read("/proc/meminfo")
        .lines()
        .find(|line| line.starts_with("MemTotal:"))
        .and_then(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|kib| kib / 1024);
    let version = |program: &str, arg: &str| {
        let output = Command::new(program).arg(arg).output().ok()?;
        let text = if output.stdout.is_empty() {
            output.stderr
        } else {
            output.stdout
        };
        Some(String::from_utf8_lossy(&text).trim().to_string())
            .filter(|text| !text.is_empty())
    };
    Machine {
        cpu,
        cores: thread::available_parallelism().map_or(0, |n| n.get()),
        kernel: if kernel.trim().is_empty() {
            std::env::consts::OS.into()
        } else {
            kernel
        },
        memory_mib,
        load_before: load_average(),
        load_after: None,
        rustc: version("rustc", "-V"),
        python: version("python3", "--version"),
    }
}

/// The 1, 5 and 15-minute load averages (Linux).
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    (fields.len() == 3).then(|| fields.join(", "))
}
