//! The results of `chatbench`: every chat server measured by chatload at
//! several loads, the machine that measured them, and what the book shows
//! from them ([`render`]: markdown tables, [`svg`]: the plot). [`seed`]
//! takes the Python server of the seed tutorial out of its text.

pub mod render;
pub mod seed;
pub mod svg;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// Everything one run of `chatbench` measured; `results.json` holds it.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Results {
    /// When the bench started (UTC, RFC 3339).
    pub generated: String,
    /// The command that produced these results.
    pub command: String,
    /// A `--quick` run: small loads, for trying the bench, not for the book.
    #[serde(default)]
    pub quick: bool,
    /// How long the whole bench took.
    pub took_s: f64,
    pub machine: Machine,
    /// Every server asked for, in the order of the tables and the plot.
    pub servers: Vec<Server>,
    /// The loads every server ran at (the tables' rows, the plot's groups).
    pub loads: Vec<Load>,
    /// The yardstick: a few servers, alternated, several rounds.
    pub yardstick: Option<Yardstick>,
    pub runs: Vec<Run>,
}

/// The machine that measured.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub memory_mib: Option<u64>,
    /// The 1, 5 and 15-minute load averages before and after the bench.
    pub load_before: Option<String>,
    pub load_after: Option<String>,
    pub rustc: Option<String>,
    pub python: Option<String>,
}

/// One server measured.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Server {
    /// Short and stable: `stage1` … `stage7`, `reference`, `seed`.
    pub id: String,
    /// What the tables call it: `07_chat_1_broadcast`, `chat_reference`…
    pub name: String,
    /// What it is, in a few words.
    pub about: String,
    /// The command chatload starts it with (`{port}` for the port).
    pub command: Option<String>,
    /// Why it could not be measured (not built, the seeds are missing).
    pub missing: Option<String>,
}

/// Clients × messages × bytes.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub clients: u32,
    pub messages: u32,
    pub size: u32,
}

impl Load {
    /// Deliveries a run at this load expects: every client receives every
    /// client's lines, its own included.
    pub fn expected(&self) -> u64 {
        u64::from(self.clients).pow(2) * u64::from(self.messages)
    }
}

impl fmt::Display for Load {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}×{}", self.clients, self.messages, self.size)
    }
}

impl std::str::FromStr for Load {
    type Err = String;

    /// `500x20x16` (or with `×`); the size may be left out (32 bytes).
    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(['x', '×']).collect();
        let number = |part: &str| {
            part.trim()
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    format!("{text:?}: expected CLIENTSxMESSAGES[xBYTES]")
                })
        };
        match parts.as_slice() {
            [clients, messages] => Ok(Load {
                clients: number(clients)?,
                messages: number(messages)?,
                size: 32,
            }),
            [clients, messages, size] => Ok(Load {
                clients: number(clients)?,
                messages: number(messages)?,
                size: number(size)?,
            }),
            _ => Err(format!("{text:?}: expected CLIENTSxMESSAGES[xBYTES]")),
        }
    }
}

/// The yardstick: these servers, one after the other, `rounds` times.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Yardstick {
    pub load: Load,
    pub rounds: u32,
    /// Server ids, in the order each round runs them; the first is the one
    /// compared to the others.
    pub servers: Vec<String>,
}

/// Which part of the bench a run belongs to.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Scale,
    Yardstick,
}

/// How a run ended.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every expected delivery came.
    Complete,
    /// The run ended (nothing more came for a while) with deliveries
    /// missing.
    Lost,
    /// The run's deadline came first: what is missing may still have been
    /// on its way.
    Unfinished,
    /// No measurement: chatload could not make the run (a client could not
    /// connect, the warm-up stalled) or was stopped by the bench's
    /// watchdog.
    Failed,
}

/// One chatload run.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Run {
    pub server: String,
    pub kind: Kind,
    /// 0 for a scale run; the round of a yardstick run.
    pub round: u32,
    pub load: Load,
    pub outcome: Outcome,
    /// chatload's exit status (None: killed).
    pub exit: Option<i32>,
    /// Wall time of the whole chatload run, starting the server included.
    pub wall_s: f64,
    /// What went wrong, in a line (chatload's error, the end's reason).
    pub note: Option<String>,
    /// chatload's `--json` report as it printed it.
    pub report: Option<Value>,
}

impl Run {
    /// A number of chatload's report.
    pub fn number(&self, field: &str) -> Option<f64> {
        self.report.as_ref()?.get(field)?.as_f64()
    }

    pub fn deliveries_per_s(&self) -> Option<f64> {
        self.number("deliveries_per_s").filter(|&rate| rate > 0.0)
    }

    pub fn lost(&self) -> Option<u64> {
        self.report.as_ref()?.get("lost")?.as_u64()
    }
}

impl Results {
    pub fn server(&self, id: &str) -> Option<&Server> {
        self.servers.iter().find(|server| server.id == id)
    }

    /// The scale run of `server` at `load`.
    pub fn scale_run(&self, server: &str, load: Load) -> Option<&Run> {
        self.runs.iter().find(|run| {
            run.kind == Kind::Scale && run.server == server && run.load == load
        })
    }

    /// The yardstick runs of `server`, in round order.
    pub fn yardstick_runs(&self, server: &str) -> Vec<&Run> {
        self.runs
            .iter()
            .filter(|run| run.kind == Kind::Yardstick && run.server == server)
            .collect()
    }

    /// The median deliveries per second of `server`'s yardstick rounds
    /// (of the rounds that measured something: a lossy round counts, a
    /// failed one does not).
    pub fn yardstick_median(&self, server: &str) -> Option<f64> {
        let mut rates: Vec<f64> = self
            .yardstick_runs(server)
            .iter()
            .filter_map(|run| run.deliveries_per_s())
            .collect();
        median(&mut rates)
    }
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

/// The file each server's table goes to, in the output directory.
pub fn table_file(server: &Server) -> String {
    format!("table_{}.md", server.id)
}

/// Writes `results.json`, every table and the plot into `dir`; returns the
/// files written.
pub fn write_all(
    results: &Results,
    dir: &Path,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files: Vec<(String, String)> = vec![
        (
            "results.json".into(),
            serde_json::to_string_pretty(results)? + "\n",
        ),
        ("machine.md".into(), render::machine(results)),
        ("overview.md".into(), render::overview(results)),
        ("yardstick.md".into(), render::yardstick(results)),
        ("headline.md".into(), render::headline(results)),
        ("deliveries.svg".into(), svg::deliveries(results)),
    ];
    for server in &results.servers {
        files.push((
            table_file(server),
            render::server_table(results, &server.id),
        ));
    }
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}
