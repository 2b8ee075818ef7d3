//! Command-line arguments, and the one way a lesson's `main` starts and ends.
//!
//! Support module. A lesson that talks over the network takes `--host` and `--port` (flatten
//! [`Endpoint`] into its own arguments to add more); a self-contained demonstration may take
//! neither. [`run`] fills in the rest from the lesson's row in [`crate::index`]: the summary
//! `--help` shows, the port the Python tutorial uses, what to run next, and, for a server,
//! `--quiet`. When the lesson returns an error, [`run`] prints one clear line and exits non-zero
//! instead of panicking.

use crate::index::{self, Lesson, Role};
use crate::{explain, style};
use clap::{ArgAction, Args, Command, FromArgMatches};
use std::error::Error;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

/// Where a server listens, or where a client finds its server.
#[derive(Args, Debug, Clone)]
pub struct Endpoint {
    /// Host name or IP address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port number; 0 asks the OS for any free port (a server prints the one it got).
    #[arg(long)]
    pub port: u16,
}

impl Endpoint {
    /// Every socket address the host resolves to, in the order the resolver gives them (an IP
    /// address resolves to itself alone). `localhost` may give two, `::1` before `127.0.0.1`:
    /// a client tries each in turn, as `TcpStream::connect(&addresses[..])` does.
    pub fn socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        let not_found = |reason: String| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "cannot find an address for host {:?}: {reason}",
                    self.host
                ),
            )
        };
        let addresses: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|error| not_found(error.to_string()))?
            .collect();
        if addresses.is_empty() {
            return Err(not_found("it has none".to_string()));
        }
        Ok(addresses)
    }

    /// The first address the host resolves to: the one a server binds, and the one a UDP
    /// client sends to (with no handshake, it cannot tell which of several would answer).
    pub fn socket_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.socket_addrs()?[0])
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port) // an IPv6 literal needs brackets
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The id of the `--quiet` switch that [`run`] gives every server.
const QUIET: &str = "quiet";

/// Reads an option given in seconds (a client's `--timeout`): fractions allowed, from 0.001
/// (a zero timeout is an error for `set_read_timeout`) to 86400, a day (anything longer is
/// surely a typo). Declare it with `value_parser = cli::seconds` and
/// `allow_negative_numbers = true`, so that `-1` reaches it and gets its message.
pub fn seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| "expected a number of seconds, such as 2 or 0.5")?;
    if !(0.001..=86_400.0).contains(&seconds) {
        return Err("expected seconds from 0.001 to 86400 (a day)".into());
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Reads a count that must be 1 or more (a queue's length, say). Declare it with
/// `value_parser = cli::at_least_one`.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse() {
        Ok(0) | Err(_) => Err("expected a whole number of 1 or more".into()),
        Ok(count) => Ok(count),
    }
}

/// Parses the arguments of `lesson` (a binary name from the index: pass
/// `env!("CARGO_BIN_NAME")`), runs `body` with them, and turns its result into the exit status:
/// 0 on success, 1 with a one-line message on error. The body may fail with any error type
/// (`io::Error`, a lesson's own error, `Box<dyn Error>`); an OS error anywhere in its chain of
/// sources is explained.
pub fn run<A, E>(
    lesson: &str,
    body: impl FnOnce(A) -> Result<(), E>,
) -> ExitCode
where
    A: Args,
    E: Into<Box<dyn Error>>,
{
    let Some(lesson) = index::find(lesson) else {
        style::error(format!(
            "{lesson} is not in the lesson index (src/index.rs)"
        ));
        return ExitCode::FAILURE;
    };
    style::init();
    run_with(lesson, std::env::args_os(), body)
}

/// [`run`], for a row and an argument list of its own (the unit tests' way in).
fn run_with<A, E>(
    lesson: &Lesson,
    arguments: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    body: impl FnOnce(A) -> Result<(), E>,
) -> ExitCode
where
    A: Args,
    E: Into<Box<dyn Error>>,
{
    let command = command::<A>(lesson);
    let has_endpoint = takes(&command, "host") && takes(&command, "port");
    let matches = command
        .try_get_matches_from(arguments)
        .unwrap_or_else(|error| error.exit());
    let args =
        A::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    if lesson.role == Role::Server {
        style::set_quiet(matches.get_flag(QUIET));
    }
    // The Endpoint, when the lesson has one, is read out once more on its own, so an error
    // message can name the address the lesson was listening on or connecting to.
    let endpoint = if has_endpoint {
        Some(
            Endpoint::from_arg_matches(&matches)
                .unwrap_or_else(|error| error.exit()),
        )
    } else {
        None
    };
    match body(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let error = error.into();
            style::error(explain::explain(&*error, lesson, endpoint.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// The clap command for a lesson: its arguments plus what the index knows about it. Only what
/// the lesson declares is touched: `--host` and `--port` get their help and default when it
/// has them, and every server gets `--quiet` (so a lesson must not declare its own: clap's
/// debug checks, and so the tests, would stop at the duplicate).
fn command<A: Args>(lesson: &Lesson) -> Command {
    let mut command = A::augment_args(Command::new(lesson.name))
        .about(lesson.summary)
        .after_help(next_steps(lesson));
    let host_help = match lesson.role {
        Role::Server => {
            Some("Address to listen on (0.0.0.0 for every interface)")
        }
        Role::Client => Some("Host name or address of the server"),
        Role::Demonstration | Role::Tool => None, // the lesson's own words
    };
    if let Some(help) = host_help.filter(|_| takes(&command, "host")) {
        command = command.mut_arg("host", |arg| arg.help(help));
    }
    // With no default port, --port stays as the lesson declares it.
    if let Some(port) = lesson.default_port.filter(|_| takes(&command, "port"))
    {
        command = command.mut_arg("port", |arg| {
            arg.required(false).default_value(port.to_string())
        });
    }
    if lesson.role == Role::Server {
        command = command.arg(
            clap::Arg::new(QUIET)
                .long(QUIET)
                .action(ArgAction::SetTrue)
                .help(
                    "Print no line per message received or sent, only \
                     connections, errors and the ready line (for load tests)",
                ),
        );
    }
    command
}

/// Whether the command has an argument with this id.
fn takes(command: &Command, id: &str) -> bool {
    command.get_arguments().any(|arg| arg.get_id() == id)
}

/// The `--help` footer: the peer to run beside this lesson, its chapter, and the next lesson.
fn next_steps(lesson: &Lesson) -> String {
    let mut text = String::new();
    if let Some(peer) = lesson.peer {
        text += &format!(
            "Run beside it, in a second terminal:  cargo run --bin {peer}\n"
        );
    }
    text += &format!("Read about it:  {}\n", lesson.chapter);
    if let Some(next) = index::next_after(lesson.name) {
        text += &format!("Then go on with:  {}", next.command());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    /// A row that is not in the index: a lesson of this role and default port.
    fn row(role: Role, default_port: Option<u16>) -> Lesson {
        Lesson {
            name: "99_example",
            role,
            default_port,
            peer: None,
            ..*index::find("03_ctime_server").expect("in the index")
        }
    }

    /// A demonstration's arguments: no host, no port.
    #[derive(Args, Debug)]
    struct Rounds {
        /// How many times to show it.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
    }

    #[test]
    fn port_defaults_to_the_lessons_seed_port() {
        let lesson = index::find("02_talk_server").expect("in the index");
        let matches =
            command::<Endpoint>(lesson).get_matches_from(["02_talk_server"]);
        let endpoint = Endpoint::from_arg_matches(&matches).expect("parses");
        assert_eq!(endpoint.port, 8000);
        assert_eq!(endpoint.to_string(), "127.0.0.1:8000");
    }

    #[test]
    fn a_demonstration_without_host_or_port_parses_and_runs() {
        let lesson = row(Role::Demonstration, None);
        let mut seen = None;
        let status = run_with(
            &lesson,
            ["99_example", "--rounds", "5"],
            |args: Rounds| {
                seen = Some(args.rounds);
                Ok::<(), io::Error>(())
            },
        );
        assert_eq!(status, ExitCode::SUCCESS);
        assert_eq!(seen, Some(5));
        assert!(!takes(&command::<Rounds>(&lesson), QUIET));
    }

    #[test]
    fn a_lesson_with_no_default_port_must_be_given_one() {
        let lesson = row(Role::Client, None);
        let missing = command::<Endpoint>(&lesson)
            .try_get_matches_from(["99_example"])
            .expect_err("--port is required");
        assert_eq!(missing.kind(), ErrorKind::MissingRequiredArgument);
        let matches = command::<Endpoint>(&lesson)
            .try_get_matches_from(["99_example", "--port", "7"])
            .expect("parses");
        let endpoint = Endpoint::from_arg_matches(&matches).expect("parses");
        assert_eq!(endpoint.to_string(), "127.0.0.1:7");
    }

    #[test]
    fn a_server_gets_quiet_and_a_client_does_not() {
        let server = command::<Endpoint>(&row(Role::Server, Some(9)))
            .try_get_matches_from(["99_example", "--quiet"])
            .expect("parses");
        assert!(server.get_flag(QUIET));
        let client = command::<Endpoint>(&row(Role::Client, Some(9)))
            .try_get_matches_from(["99_example", "--quiet"])
            .expect_err("a client has no --quiet");
        assert_eq!(client.kind(), ErrorKind::UnknownArgument);
    }

    #[test]
    fn a_failing_body_of_any_error_type_exits_non_zero() {
        let lesson = row(Role::Demonstration, None);
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let status =
            run_with(&lesson, ["99_example"], |_: Rounds| Err(refused()));
        assert_eq!(status, ExitCode::FAILURE);
        let status = run_with(&lesson, ["99_example"], |_: Rounds| {
            Err::<(), Box<dyn Error>>("a protocol error".into())
        });
        assert_eq!(status, ExitCode::FAILURE);
    }

    #[test]
    fn ipv6_hosts_are_shown_in_brackets() {
        let endpoint = Endpoint {
            host: "::1".into(),
            port: 0,
        };
        assert_eq!(endpoint.to_string(), "[::1]:0");
        assert!(
            endpoint
                .socket_addr()
                .is_ok_and(|address| address.is_ipv6())
        );
    }

    #[test]
    fn a_host_keeps_every_address_it_resolves_to() {
        let endpoint = Endpoint {
            host: "localhost".into(),
            port: 9,
        };
        let addresses = endpoint.socket_addrs().expect("localhost resolves");
        assert!(!addresses.is_empty());
        assert!(addresses.iter().all(|address| address.ip().is_loopback()));
        assert_eq!(endpoint.socket_addr().ok(), addresses.first().copied());
        let ip = Endpoint {
            host: "127.0.0.1".into(),
            port: 9,
        };
        assert_eq!(
            ip.socket_addrs().expect("an IP resolves to itself"),
            ["127.0.0.1:9".parse().expect("an address")]
        );
    }

    #[test]
    fn a_count_is_a_whole_number_of_1_or_more() {
        assert_eq!(at_least_one("1"), Ok(1));
        assert_eq!(at_least_one(" 1024 "), Ok(1024));
        assert!(at_least_one("0").is_err());
        assert!(at_least_one("-1").is_err());
        assert!(at_least_one("2.5").is_err());
    }

    #[test]
    fn seconds_take_fractions_and_refuse_what_cannot_be_a_timeout() {
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(seconds("2"), Ok(Duration::from_secs(2)));
        for out_of_range in ["0", "-1", "1e20", "0.0000000001", "nan", "inf"] {
            let error = seconds(out_of_range).expect_err(out_of_range);
            assert!(error.contains("from 0.001 to 86400"), "{error}");
        }
        let error = seconds("soon").expect_err("a word");
        assert!(error.contains("a number of seconds"), "{error}");
    }
}
