//! Command-line arguments, and the one way a lesson's `main` starts and ends.
//!
//! Every lesson takes `--host` and `--port` (flatten [`Endpoint`] into its own arguments to add
//! more). [`run`] fills in the rest from the lesson's row in [`crate::index`]: the summary
//! `--help` shows, the port the Python tutorial uses, and what to run next. When the lesson
//! returns an error, [`run`] prints one clear line and exits non-zero instead of panicking.

use crate::{explain, index, style};
use clap::{Args, Command, FromArgMatches};
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

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
    /// The first socket address the host name resolves to (an IP address resolves to itself).
    pub fn socket_addr(&self) -> io::Result<SocketAddr> {
        let not_found = |reason: String| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "cannot find an address for host {:?}: {reason}",
                    self.host
                ),
            )
        };
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|error| not_found(error.to_string()))?
            .next()
            .ok_or_else(|| not_found("it has none".to_string()))
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

/// Parses the arguments of `lesson` (a binary name from the index), runs `body` with them, and
/// turns its result into the exit status: 0 on success, 1 with a one-line message on error.
pub fn run<A: Args>(
    lesson: &str,
    body: impl FnOnce(A) -> io::Result<()>,
) -> ExitCode {
    let Some(lesson) = index::find(lesson) else {
        style::error(format!(
            "{lesson} is not in the lesson index (src/index.rs)"
        ));
        return ExitCode::FAILURE;
    };
    style::init();
    let matches = command::<A>(lesson).get_matches();
    // Every lesson's arguments contain an Endpoint; it is read out once more on its own so an
    // error message can name the address the lesson was listening on or connecting to.
    let (endpoint, args) = match (
        Endpoint::from_arg_matches(&matches),
        A::from_arg_matches(&matches),
    ) {
        (Ok(endpoint), Ok(args)) => (endpoint, args),
        (Err(error), _) | (_, Err(error)) => error.exit(),
    };
    match body(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            style::error(explain::explain(&error, lesson, &endpoint));
            ExitCode::FAILURE
        }
    }
}

/// The clap command for a lesson: its arguments plus what the index knows about it.
fn command<A: Args>(lesson: &index::Lesson) -> Command {
    let host_help = match lesson.role {
        index::Role::Server => {
            "Address to listen on (0.0.0.0 for every interface)"
        }
        _ => "Host name or address of the server",
    };
    A::augment_args(Command::new(lesson.name))
        .about(lesson.summary)
        .after_help(next_steps(lesson))
        .mut_arg("host", |arg| arg.help(host_help))
        .mut_arg("port", |arg| {
            arg.required(false)
                .default_value(lesson.default_port.unwrap_or(0).to_string())
        })
}

/// The `--help` footer: the peer to run beside this lesson, its chapter, and the next lesson.
fn next_steps(lesson: &index::Lesson) -> String {
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
}
