//! The markdown the performance chapter includes: a table per server, an
//! overview, the yardstick, the machine, and a headline in words.

use super::{Load, Outcome, Results, Run};
use std::fmt::Write;

/// A rate, three significant digits: `4.37 M`, `212 k`, `950`.
pub fn rate(value: f64) -> String {
    let (scaled, unit) = if value >= 1e6 {
        (value / 1e6, " M")
    } else if value >= 1e3 {
        (value / 1e3, " k")
    } else {
        (value, "")
    };
    format!("{}{unit}", significant(scaled))
}

/// Three significant digits (no more decimals than that).
fn significant(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A latency given in milliseconds: `1.90 ms`, `922 ms`, `64.7 s`.
pub fn latency(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", significant(ms / 1000.0))
    } else {
        format!("{} ms", significant(ms))
    }
}

/// A count with thousands separators: `10,000,000`.
pub fn count(value: u64) -> String {
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

/// A ratio: `0.93×`, `12.4×`, `0.011×`.
pub fn ratio(value: f64) -> String {
    if value < 0.1 {
        format!("{value:.3}×")
    } else {
        format!("{}×", significant(value))
    }
}

/// The load in words for a table row: `1,000 × 10 × 32 B`.
fn load_cell(load: Load) -> String {
    format!(
        "{} × {} × {} B",
        count(load.clients.into()),
        load.messages,
        load.size
    )
}

/// Markdown table cells must not hold a `|` or a line break.
fn cell(text: &str) -> String {
    text.replace('|', "/").replace('\n', " ")
}

const HEADER: &str = "| clients × lines × bytes | deliveries/s | latency p50 | \
p99 | max | lost | connect | memory per client | server CPU | load average \
| note |\n\
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n";

/// One table row for a run (`label` in the first cell).
fn row(label: &str, run: &Run) -> String {
    let dash = || "—".to_string();
    let number = |field: &str| run.number(field);
    let per_s = run.deliveries_per_s().map_or_else(dash, rate);
    let [p50, p99, max] =
        ["latency_p50_ms", "latency_p99_ms", "latency_max_ms"]
            .map(|field| number(field).map_or_else(dash, latency));
    let lost = match (run.outcome, run.lost()) {
        (Outcome::Failed, _) | (_, None) => dash(),
        (Outcome::Unfinished, Some(lost)) => format!("{} not yet", count(lost)),
        (_, Some(lost)) => count(lost),
    };
    let connect =
        number("connect_s").map_or_else(dash, |s| latency(s * 1000.0));
    let memory = number("server_kib_per_client")
        .map_or_else(dash, |kib| format!("{kib:.0} KiB"));
    let cpu = number("server_cpu_s")
        .map_or_else(dash, |cpu| format!("{} s", significant(cpu)));
    let load =
        number("load_average").map_or_else(dash, |load| format!("{load:.1}"));
    let note = note(run);
    format!(
        "| {label} | {per_s} | {p50} | {p99} | {max} | {lost} | {connect} \
         | {memory} | {cpu} | {load} | {} |\n",
        cell(&note)
    )
}

/// What a reader should know about a run beyond its numbers.
fn note(run: &Run) -> String {
    let mut notes = Vec::new();
    match run.outcome {
        Outcome::Complete => {}
        Outcome::Lost => notes.push("lost deliveries".to_string()),
        Outcome::Unfinished => notes.push("did not finish".to_string()),
        Outcome::Failed => notes.push("no measurement".to_string()),
    }
    for (field, what) in [
        ("duplicated", "duplicated"),
        ("out_of_order", "out of order"),
        ("malformed", "malformed"),
        ("headerless", "without a header of their own"),
        ("disconnected", "clients disconnected"),
    ] {
        if let Some(value) = run.number(field).filter(|&value| value > 0.0) {
            notes.push(format!("{} {what}", count(value as u64)));
        }
    }
    if let Some(text) = &run.note {
        notes.push(text.clone());
    }
    notes.join("; ")
}

/// The table of one server: a row per load, then its yardstick rounds.
pub fn server_table(results: &Results, id: &str) -> String {
    let Some(server) = results.server(id) else {
        return format!("*No server `{id}` in these results.*\n");
    };
    if let Some(missing) = &server.missing {
        return format!("*Not measured: {}.*\n", cell(missing));
    }
    let mut text = String::from(HEADER);
    for &load in &results.loads {
        match results.scale_run(id, load) {
            Some(run) => text += &row(&load_cell(load), run),
            None => {
                let _ = writeln!(
                    text,
                    "| {} | — | — | — | — | — | — | — | — | — | not run |",
                    load_cell(load)
                );
            }
        }
    }
    for run in results.yardstick_runs(id) {
        let label =
            format!("{} (round {})", load_cell(run.load), run.round + 1);
        text += &row(&label, run);
    }
    text
}

/// Every server in one table: deliveries per second at each load, and
/// what happened at the largest.
pub fn overview(results: &Results) -> String {
    let largest = results.loads.iter().max_by_key(|load| load.expected());
    let mut text = String::from("| server |");
    let mut rule = String::from("| --- |");
    for load in &results.loads {
        let _ = write!(text, " {} clients |", count(load.clients.into()));
        rule += " ---: |";
    }
    if let Some(largest) = largest {
        let clients = count(largest.clients.into());
        let _ = write!(
            text,
            " lost at {clients} | memory per client at {clients} |"
        );
        rule += " ---: | ---: |";
    }
    text += " a header per line |\n";
    rule += " --- |";
    text += &rule;
    text += "\n";
    for server in &results.servers {
        let _ = write!(text, "| {} |", server.name);
        if server.missing.is_some() {
            for _ in &results.loads {
                text += " — |";
            }
            if largest.is_some() {
                text += " not measured | — |";
            }
            text += " — |\n";
            continue;
        }
        for &load in &results.loads {
            let run = results.scale_run(&server.id, load);
            let value = match run {
                None => "—".to_string(),
                Some(run) => match (run.outcome, run.deliveries_per_s()) {
                    (Outcome::Failed, _) | (_, None) => "failed".to_string(),
                    (Outcome::Unfinished, Some(per_s)) => {
                        format!("{} (did not finish)", rate(per_s))
                    }
                    (_, Some(per_s)) => rate(per_s),
                },
            };
            let _ = write!(text, " {value} |");
        }
        if let Some(&largest) = largest {
            let run = results.scale_run(&server.id, largest);
            let lost = match run {
                None => "—".to_string(),
                Some(run) => match (run.outcome, run.lost()) {
                    (Outcome::Failed, _) | (_, None) => "failed".to_string(),
                    (Outcome::Unfinished, Some(lost)) => {
                        format!("{} not yet (deadline)", count(lost))
                    }
                    (_, Some(lost)) => count(lost),
                },
            };
            let memory = run
                .and_then(|run| run.number("server_kib_per_client"))
                .map_or("—".to_string(), |kib| format!("{kib:.0} KiB"));
            let _ = write!(text, " {lost} | {memory} |");
        }
        let _ = writeln!(text, " {} |", headers(results, &server.id));
    }
    text
}

/// Whether every measured line came under a header of its own (the
/// protocol): `yes`, or the largest share of lines that did not.
fn headers(results: &Results, id: &str) -> String {
    let shares: Vec<f64> = results
        .runs
        .iter()
        .filter(|run| run.server == id)
        .filter_map(|run| {
            let delivered = run.number("delivered")?;
            let headerless = run.number("headerless")?;
            (delivered > 0.0).then(|| headerless / delivered)
        })
        .collect();
    if shares.is_empty() {
        return "—".into();
    }
    let worst = shares.iter().copied().fold(0.0, f64::max);
    if worst == 0.0 {
        "yes".into()
    } else {
        format!("no: up to {:.0}% without", (worst * 100.0).max(1.0))
    }
}

/// The yardstick's rounds side by side, their medians, and each median
/// against the reference's.
pub fn yardstick(results: &Results) -> String {
    let Some(yardstick) = &results.yardstick else {
        return "*No yardstick in these results.*\n".to_string();
    };
    let mut text = String::from("| server |");
    let mut rule = String::from("| --- |");
    for round in 1..=yardstick.rounds {
        let _ = write!(text, " round {round} |");
        rule += " ---: |";
    }
    text += " median | ÷ reference | lost |\n";
    rule += " ---: | ---: | ---: |\n";
    text += &rule;
    let reference = results.yardstick_median("reference");
    for id in &yardstick.servers {
        let name = results.server(id).map_or(id.as_str(), |s| s.name.as_str());
        let _ = write!(text, "| {name} |");
        let runs = results.yardstick_runs(id);
        for round in 0..yardstick.rounds {
            let value = runs.iter().find(|run| run.round == round).map_or(
                "—".to_string(),
                |run| match run.deliveries_per_s() {
                    Some(per_s) if run.outcome != Outcome::Failed => {
                        rate(per_s)
                    }
                    _ => "failed".to_string(),
                },
            );
            let _ = write!(text, " {value} |");
        }
        let median = results.yardstick_median(id);
        let lost: u64 = runs.iter().filter_map(|run| run.lost()).sum();
        let _ = writeln!(
            text,
            " {} | {} | {} |",
            median.map_or("—".to_string(), rate),
            match (median, reference) {
                (Some(median), Some(reference)) => ratio(median / reference),
                _ => "—".to_string(),
            },
            count(lost)
        );
    }
    text
}

/// The machine, the date and the command, as a list.
pub fn machine(results: &Results) -> String {
    let machine = &results.machine;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "- **CPU**: {}, {} cores as the OS counts them",
        machine.cpu, machine.cores
    );
    let _ = writeln!(text, "- **kernel**: {}", machine.kernel);
    if let Some(mib) = machine.memory_mib {
        let _ = writeln!(text, "- **memory**: {} MiB", count(mib));
    }
    let load = |load: &Option<String>| load.clone().unwrap_or("—".into());
    let _ = writeln!(
        text,
        "- **load average** (1, 5, 15 min): {} before, {} after",
        load(&machine.load_before),
        load(&machine.load_after)
    );
    if let Some(rustc) = &machine.rustc {
        let _ = writeln!(text, "- **compiler**: {rustc}");
    }
    if let Some(python) = &machine.python {
        let _ = writeln!(text, "- **Python** (the seed's server): {python}");
    }
    let _ = writeln!(
        text,
        "- **measured**: {}, in {:.0} s{}",
        results.generated,
        results.took_s,
        if results.quick {
            " (a `--quick` run: small loads, not the book's)"
        } else {
            ""
        }
    );
    let _ = writeln!(text, "- **command**: `{}`", results.command);
    text
}

/// The numbers the issue asks for, in sentences: the final stage against
/// the reference and the seed at the yardstick, and what every server lost
/// at the largest load.
pub fn headline(results: &Results) -> String {
    let mut text = String::new();
    if let Some(yardstick) = &results.yardstick {
        if let Some(first) = yardstick.servers.first() {
            let name = |id: &str| {
                results
                    .server(id)
                    .map_or(id.to_string(), |s| s.name.clone())
            };
            let load = yardstick.load;
            let _ = write!(
                text,
                "At {} clients × {} lines × {} bytes (the median of {} \
                 rounds), `{}` delivered {} deliveries per second",
                count(load.clients.into()),
                load.messages,
                load.size,
                yardstick.rounds,
                name(first),
                results
                    .yardstick_median(first)
                    .map_or("—".to_string(), rate),
            );
            let first_median = results.yardstick_median(first);
            let others: Vec<String> = yardstick.servers[1..]
                .iter()
                .filter_map(|other| {
                    let theirs = results.yardstick_median(other)?;
                    let mine = first_median?;
                    Some(format!(
                        "{} `{}`'s {}",
                        ratio(mine / theirs),
                        name(other),
                        rate(theirs)
                    ))
                })
                .collect();
            if !others.is_empty() {
                let _ = write!(text, ": {}", others.join(", and "));
            }
            text += ".\n";
        }
    }
    if let Some(&largest) =
        results.loads.iter().max_by_key(|load| load.expected())
    {
        let mut parts = Vec::new();
        for server in &results.servers {
            let Some(run) = results.scale_run(&server.id, largest) else {
                continue;
            };
            let what = match (run.outcome, run.lost()) {
                (Outcome::Failed, _) | (_, None) => {
                    "no measurement".to_string()
                }
                (Outcome::Unfinished, Some(lost)) => {
                    format!("{} not delivered by the deadline", count(lost))
                }
                (_, Some(lost)) => format!("{} lost", count(lost)),
            };
            parts.push(format!("`{}` {what}", server.name));
        }
        if !parts.is_empty() {
            if !text.is_empty() {
                text += "\n";
            }
            let _ = writeln!(
                text,
                "At {} clients × {} lines ({} deliveries expected): {}.",
                count(largest.clients.into()),
                largest.messages,
                count(largest.expected()),
                parts.join("; ")
            );
        }
    }
    if let Some(yardstick) = &results.yardstick {
        let costs: Vec<String> = yardstick
            .servers
            .iter()
            .filter_map(|id| {
                let mut rates: Vec<f64> = results
                    .yardstick_runs(id)
                    .iter()
                    .filter_map(|run| {
                        run.number("chatload_deliveries_per_cpu_s")
                    })
                    .collect();
                let rate_value = super::median(&mut rates)?;
                let name = results.server(id).map_or(id.as_str(), |s| &s.name);
                Some(format!("`{name}` {}", rate(rate_value)))
            })
            .collect();
        if !costs.is_empty() {
            if !text.is_empty() {
                text += "\n";
            }
            let _ = writeln!(
                text,
                "chatload's own cost at the yardstick, in deliveries per \
                 second of its CPU time (the median of the rounds): {}. With \
                 the machine's {} cores to itself, its ceiling would be {} \
                 times that.",
                costs.join(", "),
                results.machine.cores,
                results.machine.cores
            );
        }
    }
    if text.is_empty() {
        text = "*Nothing measured.*\n".into();
    }
    text
}
