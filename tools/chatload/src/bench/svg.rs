//! The plot: deliveries per second of every server at each load, as
//! grouped bars on a logarithmic scale, written as SVG by hand (a few
//! rectangles and lines: no plotting library).

use super::render::{count, rate};
use super::{Outcome, Results, Run};
use std::fmt::Write;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = WIDTH - 210.0;
const TOP: f64 = 62.0;
const BOTTOM: f64 = HEIGHT - 62.0;

/// A colour per server: the stages from a qualitative palette, the
/// reference near black, the seed brown.
fn colour(id: &str, index: usize) -> &'static str {
    const STAGES: [&str; 8] = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
        "#b07aa1", "#ff9da7",
    ];
    match id {
        "reference" => "#2b2b2b",
        "seed" => "#9c755f",
        _ => {
            let stage = id
                .strip_prefix("stage")
                .and_then(|n| n.parse::<usize>().ok())
                .map_or(index, |n| n.saturating_sub(1));
            STAGES[stage % STAGES.len()]
        }
    }
}

/// Text safe inside an SVG element or attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `1`, `10`, `100`, `1k` … `10M`: a decade's label.
fn decade_label(exponent: i32) -> String {
    let (zeros, unit) = match exponent {
        ..3 => (exponent, ""),
        3..6 => (exponent - 3, "k"),
        _ => (exponent - 6, "M"),
    };
    format!("1{}{unit}", "0".repeat(zeros.max(0) as usize))
}

/// The SVG document.
pub fn deliveries(results: &Results) -> String {
    let servers: Vec<_> = results
        .servers
        .iter()
        .enumerate()
        .filter(|(_, server)| server.missing.is_none())
        .collect();
    let runs = |load| {
        servers
            .iter()
            .map(move |(_, server)| results.scale_run(&server.id, load))
    };
    let values: Vec<f64> = results
        .loads
        .iter()
        .flat_map(|&load| runs(load))
        .flatten()
        .filter(|run| run.outcome != Outcome::Failed)
        .filter_map(Run::deliveries_per_s)
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(0.0, f64::max);
    let (mut low_exp, mut high_exp) = if values.is_empty() {
        (3, 7)
    } else {
        (low.log10().floor() as i32, high.log10().ceil() as i32)
    };
    if high_exp <= low_exp {
        high_exp = low_exp + 1;
    }
    low_exp = low_exp.min(high_exp - 2);
    let y = |value: f64| {
        let share = (value.log10() - f64::from(low_exp))
            / f64::from(high_exp - low_exp);
        BOTTOM - share.clamp(0.0, 1.0) * (BOTTOM - TOP)
    };

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12" role="img" aria-labelledby="title">"#
    );
    let title = "Deliveries per second of each chat server, by number of \
                 clients (log scale)";
    let _ = writeln!(svg, r#"<title id="title">{}</title>"#, escape(title));
    let _ = writeln!(
        svg,
        r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{}</text>"#,
        escape("Deliveries per second, by server and number of clients")
    );
    let machine = &results.machine;
    let subtitle = format!(
        "{}, {} cores · {}{}",
        machine.cpu,
        machine.cores,
        results.generated.get(..10).unwrap_or(&results.generated),
        if results.quick {
            " · a --quick run"
        } else {
            ""
        }
    );
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="43" fill="#555555">{}</text>"##,
        escape(&subtitle)
    );

    // The scale: a line and a label at every decade.
    for exponent in low_exp..=high_exp {
        let at = y(10f64.powi(exponent));
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{at:.1}" x2="{RIGHT}" y2="{at:.1}" stroke="#dddddd"/>"##
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            at + 4.0,
            decade_label(exponent)
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}" stroke="#555555"/>"##
    );
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="#555555"/>"##
    );
    let middle = (TOP + BOTTOM) / 2.0;
    let _ = writeln!(
        svg,
        r#"<text x="20" y="{middle:.1}" text-anchor="middle" transform="rotate(-90 20 {middle:.1})">deliveries per second (log scale)</text>"#
    );

    // A group of bars per load.
    let groups = results.loads.len().max(1) as f64;
    let group_width = (RIGHT - LEFT) / groups;
    let bars = servers.len().max(1) as f64;
    let bar_width = group_width * 0.8 / bars;
    for (group, &load) in results.loads.iter().enumerate() {
        let start = LEFT + group as f64 * group_width + group_width * 0.1;
        for (slot, run) in runs(load).enumerate() {
            let (index, server) = servers[slot];
            let x = start + slot as f64 * bar_width;
            let rate_value = run
                .filter(|run| run.outcome != Outcome::Failed)
                .and_then(Run::deliveries_per_s);
            let Some(value) = rate_value else {
                // Nothing measured: a cross on the axis.
                let _ = writeln!(
                    svg,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#c00000">×<title>{}</title></text>"##,
                    x + bar_width / 2.0,
                    BOTTOM - 4.0,
                    escape(&format!(
                        "{}, {} clients: no measurement",
                        server.name, load.clients
                    ))
                );
                continue;
            };
            let top = y(value);
            let complete =
                run.is_some_and(|run| run.outcome == Outcome::Complete);
            let style = if complete {
                String::new()
            } else {
                r#" fill-opacity="0.35" stroke-dasharray="3 2""#.to_string()
            };
            let lost = run.and_then(Run::lost).unwrap_or(0);
            let tooltip = format!(
                "{}, {} clients × {} lines: {} deliveries/s, {} lost{}",
                server.name,
                count(load.clients.into()),
                load.messages,
                rate(value),
                count(lost),
                match run.map(|run| run.outcome) {
                    Some(Outcome::Unfinished) => " (did not finish)",
                    _ => "",
                }
            );
            let fill = colour(&server.id, index);
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{fill}" stroke="{fill}"{style}><title>{}</title></rect>"#,
                (bar_width - 1.0).max(1.0),
                (BOTTOM - top).max(0.5),
                escape(&tooltip)
            );
            if !complete {
                let _ = writeln!(
                    svg,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#c00000" font-weight="bold">!</text>"##,
                    x + bar_width / 2.0,
                    top - 3.0
                );
            }
        }
        let centre = LEFT + (group as f64 + 0.5) * group_width;
        let _ = writeln!(
            svg,
            r#"<text x="{centre:.1}" y="{:.1}" text-anchor="middle">{} clients</text>"#,
            BOTTOM + 18.0,
            count(load.clients.into())
        );
        let _ = writeln!(
            svg,
            r##"<text x="{centre:.1}" y="{:.1}" text-anchor="middle" fill="#555555">× {} lines × {} bytes</text>"##,
            BOTTOM + 33.0,
            load.messages,
            load.size
        );
    }

    // The legend, right of the plot.
    let legend_x = RIGHT + 18.0;
    let mut at = TOP + 4.0;
    for &(index, server) in &servers {
        let fill = colour(&server.id, index);
        let _ = writeln!(
            svg,
            r#"<rect x="{legend_x}" y="{at:.1}" width="12" height="12" fill="{fill}"/>"#
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            legend_x + 18.0,
            at + 10.5,
            escape(&server.name)
        );
        at += 20.0;
    }
    at += 8.0;
    for line in [
        "pale bar and ! : lost deliveries,",
        "or the run did not finish",
        "× : no measurement",
    ] {
        let _ = writeln!(
            svg,
            r##"<text x="{legend_x}" y="{at:.1}" fill="#555555" font-size="11">{}</text>"##,
            escape(line)
        );
        at += 15.0;
    }
    svg += "</svg>\n";
    svg
}
