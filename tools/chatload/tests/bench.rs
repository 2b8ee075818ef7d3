//! chatbench's tables, plot and seed extraction, from a small fixed set of
//! results (nothing is measured here: these run in milliseconds).

use chatload::bench::{self, Results, render, seed, svg};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

/// A chatload report with the fields the tables read.
fn report(per_s: f64, lost: u64, p50: f64, kib: f64) -> serde_json::Value {
    let headerless = if lost > 0 { 12 } else { 0 };
    json!({
        "delivered": 1000,
        "deliveries_per_s": per_s,
        "lost": lost,
        "duplicated": 0,
        "out_of_order": 0,
        "headerless": headerless,
        "latency_p50_ms": p50,
        "latency_p99_ms": p50 * 2.0,
        "latency_max_ms": p50 * 3.0,
        "server_kib_per_client": kib,
        "server_cpu_s": 1.25,
        "connect_s": 0.0123,
        "chatload_deliveries_per_cpu_s": per_s * 2.0,
        "load_average": 2.5,
        "ended_by": null,
    })
}

/// Two loads; stage 6 loses at the larger one, stage 7 does not finish it,
/// the seed was not there; a yardstick of two rounds.
fn results() -> Results {
    let small = json!({"clients": 10, "messages": 100, "size": 32});
    let large = json!({"clients": 1000, "messages": 10, "size": 32});
    let yard = json!({"clients": 500, "messages": 20, "size": 16});
    let run = |server: &str,
               kind: &str,
               round: u32,
               load: &serde_json::Value,
               outcome: &str,
               report: Option<serde_json::Value>| {
        let note = if outcome == "unfinished" {
            json!("ended by the deadline of 240s")
        } else {
            json!(null)
        };
        json!({
            "server": server, "kind": kind, "round": round, "load": load,
            "outcome": outcome, "exit": 0, "wall_s": 1.0, "note": note,
            "report": report,
        })
    };
    let mut failed = run("reference", "scale", 0, &large, "failed", None);
    failed["note"] = json!("the warm-up stalled");
    failed["exit"] = json!(2);
    let value = json!({
        "generated": "2026-11-27 19:15 UTC",
        "command": "cargo run --release -p chatload --bin chatbench",
        "took_s": 600.0,
        "machine": {
            "cpu": "Example CPU", "cores": 2, "kernel": "Linux 6.1",
            "memory_mib": 4096, "load_before": "1.00, 2.00, 3.00",
            "load_after": "2.00, 2.00, 3.00", "rustc": "rustc 1.95.0",
            "python": "Python 3.11.7",
        },
        "servers": [
            {"id": "stage6", "name": "07_chat_6_robust", "about": "queues",
             "command": "target/release/07_chat_6_robust --port {port} --quiet",
             "missing": null},
            {"id": "stage7", "name": "07_chat_7_batching", "about": "batches",
             "command": "x", "missing": null},
            {"id": "reference", "name": "chat_reference", "about": "tokio",
             "command": "x", "missing": null},
            {"id": "seed", "name": "seed 003 §3.5 (Python)", "about": "seed",
             "command": null,
             "missing": "the seed tutorials are not in ../shared/seeds"},
        ],
        "loads": [small, large],
        "yardstick": {"load": yard, "rounds": 2,
                      "servers": ["stage7", "reference"]},
        "runs": [
            run("stage6", "scale", 0, &small, "complete",
                Some(report(212_919.98, 0, 1.896, 70.8))),
            run("stage7", "scale", 0, &small, "complete",
                Some(report(1_500_000.0, 0, 1.2, 40.0))),
            run("reference", "scale", 0, &small, "complete",
                Some(report(4_370_000.0, 0, 2.0, 45.6))),
            run("stage6", "scale", 0, &large, "lost",
                Some(report(78_050.66, 1234, 67_633.152, 53.36))),
            run("stage7", "scale", 0, &large, "unfinished",
                Some(report(900_000.0, 5000, 900.0, 30.0))),
            failed,
            run("stage7", "yardstick", 0, &yard, "complete",
                Some(report(8_000_000.0, 0, 300.0, 40.0))),
            run("reference", "yardstick", 0, &yard, "complete",
                Some(report(9_000_000.0, 0, 350.0, 40.0))),
            run("stage7", "yardstick", 1, &yard, "complete",
                Some(report(7_000_000.0, 0, 300.0, 40.0))),
            run("reference", "yardstick", 1, &yard, "complete",
                Some(report(11_000_000.0, 0, 350.0, 40.0))),
        ],
    });
    serde_json::from_value(value).expect("the fixture is a Results")
}

#[test]
fn numbers_read_at_a_glance() {
    assert_eq!(render::rate(4_368_992.9), "4.37 M");
    assert_eq!(render::rate(212_919.98), "213 k");
    assert_eq!(render::rate(78_060.0), "78.1 k");
    assert_eq!(render::rate(950.0), "950");
    assert_eq!(render::latency(1.896), "1.90 ms");
    assert_eq!(render::latency(67_633.152), "67.6 s");
    assert_eq!(render::count(10_000_000), "10,000,000");
    assert_eq!(render::ratio(0.8), "0.80×");
    assert_eq!(render::ratio(0.0123), "0.012×");
}

#[test]
fn a_server_table_has_a_row_per_load_and_per_round() {
    let results = results();
    let table = render::server_table(&results, "stage6");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("| clients × lines × bytes | deliveries/s"));
    assert_eq!(
        lines[2],
        "| 10 × 100 × 32 B | 213 k | 1.90 ms | 3.79 ms | 5.69 ms | 0 | \
         12.3 ms | 71 KiB | 1.25 s | 2.5 |  |"
    );
    assert!(lines[3].starts_with("| 1,000 × 10 × 32 B | 78.1 k | 67.6 s |"));
    assert!(
        lines[3].ends_with(
            "| 1,234 | 12.3 ms | 53 KiB | 1.25 s | 2.5 | lost deliveries; 12 without \
             a header of their own |"
        ),
        "{table}"
    );

    let stage7 = render::server_table(&results, "stage7");
    assert!(stage7.contains("| 5,000 not yet |"), "{stage7}");
    assert!(
        stage7.contains(
            "| did not finish; 12 without a header of their own; ended by \
             the deadline of 240s |"
        ),
        "{stage7}"
    );
    assert!(stage7.contains("| 500 × 20 × 16 B (round 2) | 7.00 M |"));

    let reference = render::server_table(&results, "reference");
    assert!(
        reference.contains(
            "| 1,000 × 10 × 32 B | — | — | — | — | — | — | — | — | — | no \
             measurement; the warm-up stalled |"
        ),
        "{reference}"
    );
    assert_eq!(
        render::server_table(&results, "seed"),
        "*Not measured: the seed tutorials are not in ../shared/seeds.*\n"
    );
}

#[test]
fn the_overview_and_the_yardstick_compare_the_servers() {
    let results = results();
    let overview = render::overview(&results);
    assert!(overview.starts_with(
        "| server | 10 clients | 1,000 clients | lost at 1,000 | memory \
         per client at 1,000 | a header per line |\n"
    ));
    assert!(overview.contains(
        "| 07_chat_6_robust | 213 k | 78.1 k | 1,234 | 53 KiB | no: up to 1% \
         without |"
    ));
    assert!(overview.contains(
        "| 07_chat_7_batching | 1.50 M | 900 k (did not finish) | 5,000 not \
         yet (deadline) | 30 KiB | no: up to 1% without |"
    ));
    assert!(
        overview.contains(
            "| chat_reference | 4.37 M | failed | failed | — | yes |"
        )
    );
    assert!(
        overview.contains(
            "| seed 003 §3.5 (Python) | — | — | not measured | — | — |"
        )
    );

    // Medians: stage 7 7.5 M, the reference 10 M.
    let yardstick = render::yardstick(&results);
    assert!(yardstick.contains(
        "| 07_chat_7_batching | 8.00 M | 7.00 M | 7.50 M | 0.75× | 0 |"
    ));
    assert!(
        yardstick.contains(
            "| chat_reference | 9.00 M | 11.0 M | 10.0 M | 1.00× | 0 |"
        )
    );

    let headline = render::headline(&results);
    assert!(headline.starts_with(
        "At 500 clients × 20 lines × 16 bytes (the median of 2 rounds), \
         `07_chat_7_batching` delivered 7.50 M deliveries per second: 0.75× \
         `chat_reference`'s 10.0 M.\n"
    ));
    assert!(headline.contains(
        "`07_chat_6_robust` 1,234 lost; `07_chat_7_batching` 5,000 not \
         delivered by the deadline; `chat_reference` no measurement."
    ));

    assert!(headline.ends_with(
        "chatload's own cost at the yardstick, in deliveries per second \
         of its CPU time (the median of the rounds): `07_chat_7_batching` \
         15.0 M, `chat_reference` 20.0 M. With the machine's 2 cores to \
         itself, its ceiling would be 2 times that.\n"
    ));

    let machine = render::machine(&results);
    assert!(machine.contains("- **CPU**: Example CPU, 2 cores"));
    assert!(machine.contains(
        "- **command**: `cargo run --release -p chatload --bin chatbench`"
    ));
}

#[test]
fn the_plot_is_an_svg_with_a_bar_per_measurement_and_a_legend() {
    let results = results();
    let plot = svg::deliveries(&results);
    assert!(plot.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(plot.ends_with("</svg>\n"));
    // Five measured scale runs, a bar each; the failed one is a cross.
    let bars = plot.matches("<rect x=").count() - 3; // 3 legend squares
    assert_eq!(bars, 5, "{plot}");
    assert_eq!(plot.matches(">×<title>").count(), 1);
    // The lossy run and the unfinished one are pale and marked.
    assert_eq!(plot.matches("fill-opacity=\"0.35\"").count(), 2);
    assert!(plot.contains("07_chat_6_robust, 1,000 clients × 10 lines: 78.1 k deliveries/s, 1,234 lost"));
    // A log scale from 10k to 10M, a line and a label per decade.
    for label in [">10k<", ">100k<", ">1M<", ">10M<"] {
        assert!(plot.contains(label), "{label} in {plot}");
    }
    // The missing seed has no place in the legend.
    assert!(plot.contains(">chat_reference<"));
    assert!(!plot.contains("seed 003"));
    assert!(plot.contains("deliveries per second (log scale)"));
    assert!(plot.contains("Example CPU, 2 cores"));
    // Every element opened is closed (a rough well-formedness check).
    assert_eq!(
        plot.matches("<text").count(),
        plot.matches("</text>").count()
    );
    assert_eq!(
        plot.matches("<title").count(),
        plot.matches("</title>").count()
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("chatbench-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_chapter_files_are_written_and_results_read_back() {
    let results = results();
    let dir = scratch("write");
    let written = bench::write_all(&results, &dir).expect("written");
    let mut names: Vec<String> = written
        .iter()
        .filter_map(|path| Some(path.file_name()?.to_str()?.to_string()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "deliveries.svg",
            "headline.md",
            "machine.md",
            "overview.md",
            "results.json",
            "table_reference.md",
            "table_seed.md",
            "table_stage6.md",
            "table_stage7.md",
            "yardstick.md",
        ]
    );
    let text = std::fs::read_to_string(dir.join("results.json")).expect("json");
    let back: Results = serde_json::from_str(&text).expect("it reads back");
    assert_eq!(render::overview(&back), render::overview(&results));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chatbench_renders_a_results_file_without_measuring() {
    let dir = scratch("render");
    std::fs::create_dir_all(&dir).expect("a directory");
    let json = dir.join("in.json");
    std::fs::write(&json, serde_json::to_string(&results()).expect("json"))
        .expect("written");
    let out = dir.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_chatbench"))
        .arg("--render")
        .arg(&json)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("chatbench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("| 07_chat_6_robust | 213 k |"), "{stdout}");
    assert!(out.join("deliveries.svg").exists());
    assert!(out.join("table_stage6.md").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A tutorial laid out as the seed is (a section heading, the program
/// between two "copy code" marks), with a stand-in program of ours.
const SEED_LIKE: &str = "3.5、Thread safety\n\
3.5.1、Intro\ntext\n\
3.5.2、With the lock\n\
复制代码\n\
import logging\n\
import threading\n\
logging.basicConfig(level=logging.INFO, format=\"%(message)s\")\n\
class ChatServer:\n\
    def __init__(self, ip='127.0.0.1', port=9999):\n\
        pass\n\
cs = ChatServer()\n\
cs.start()\n\
复制代码\n\
4、MakeFile\n";

#[test]
fn the_seed_program_gets_a_port_a_quiet_switch_and_a_ready_line() {
    let program = seed::program(SEED_LIKE).expect("extracted");
    assert!(
        program.starts_with("import logging\nimport sys\n"),
        "{program}"
    );
    assert!(program.contains(
        "level=logging.WARNING if '--quiet' in sys.argv else logging.INFO"
    ));
    assert!(program.contains(
        "cs = ChatServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else \
         9999)\ncs.start()\nprint('listening on {}:{}'.format(\
         *cs.sock.getsockname()), flush=True)\n"
    ));
    assert!(!program.contains("复制代码") && !program.contains("MakeFile"));

    let changed = SEED_LIKE.replace("cs = ChatServer()", "cs = Other()");
    let error = seed::program(&changed).expect_err("not the program");
    assert!(error.contains("not the one expected"), "{error}");
    let error = seed::program("no such section").expect_err("no section");
    assert!(error.contains("no section 3.5.2"), "{error}");
}

#[test]
fn the_real_seed_is_found_or_its_absence_explained() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds");
    match seed::find(&dir) {
        Ok(file) => {
            let text = std::fs::read_to_string(&file).expect("the seed reads");
            let program = seed::program(&text).expect("its §3.5.2 program");
            assert!(program.contains("class ChatServer"));
            assert!(program.contains("print('listening on"));
        }
        Err(message) => {
            assert!(
                message.contains("the seed's Python server is not measured"),
                "{message}"
            );
        }
    }
    let error = seed::find(&scratch("no-seeds")).expect_err("no such dir");
    assert!(error.contains("the seed tutorials are not in"), "{error}");
}
