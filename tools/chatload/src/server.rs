//! Starting the server under test (`--server "COMMAND with {port}"`), and
//! stopping it: its whole process group, so nothing it started lives on.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The ready line of our lessons (and of `chat_reference`).
const LISTENING: &str = "listening on ";
/// How many of the server's last output lines an error shows.
const KEPT_LINES: usize = 20;

pub struct Server {
    child: Child,
    /// Kept open: a server with a console (our lessons, the seed) reads it,
    /// and the end of input could make it stop.
    _stdin: Option<ChildStdin>,
    pub addr: SocketAddr,
    output: Arc<Mutex<VecDeque<String>>>,
}

/// What the server used, read when it has been stopped and reaped.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    /// User plus system CPU time.
    pub cpu: Option<Duration>,
    /// Peak resident memory, in KiB.
    pub max_rss_kib: Option<u64>,
}

/// Starts `command` (split as a shell would split words, `{port}` replaced
/// by a free port) and waits until it prints `listening on IP:PORT` or
/// accepts a connection.
pub fn start(command: &str, timeout: Duration) -> Result<Server, String> {
    let words = shlex::split(command)
        .filter(|words| !words.is_empty())
        .ok_or_else(|| format!("cannot read the server command {command:?}"))?;
    let uses_port = words.iter().any(|word| word.contains("{port}"));
    let port = if uses_port { free_port()? } else { 0 };
    let words: Vec<String> = words
        .iter()
        .map(|word| word.replace("{port}", &port.to_string()))
        .collect();
    let mut process = Command::new(&words[0]);
    process
        .args(&words[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: stopping it stops whatever it started.
        process.process_group(0);
    }
    let mut child = process
        .spawn()
        .map_err(|error| format!("cannot start {:?}: {error}", words[0]))?;
    let output = Arc::new(Mutex::new(VecDeque::new()));
    let (ready_tx, ready_rx) = mpsc::channel();
    // Both pipes are read to their end, all along: a server that logs each
    // connection must never block on a full pipe.
    if let Some(stdout) = child.stdout.take() {
        drain(stdout, Arc::clone(&output), Some(ready_tx));
    }
    if let Some(stderr) = child.stderr.take() {
        drain(stderr, Arc::clone(&output), None);
    }
    let stdin = child.stdin.take();
    let mut server = Server {
        child,
        _stdin: stdin,
        addr: (Ipv4Addr::LOCALHOST, port).into(),
        output,
    };
    let started = Instant::now();
    let mut last_probe = None::<Instant>;
    loop {
        if let Ok(mut addr) = ready_rx.recv_timeout(Duration::from_millis(20)) {
            if addr.ip().is_unspecified() {
                addr.set_ip(Ipv4Addr::LOCALHOST.into());
            }
            server.addr = addr;
            return Ok(server);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "the server exited ({status}) before it listened{}",
                server.last_output()
            ));
        }
        // No ready line (a server that prints none): does it accept?
        let probe_due = last_probe
            .is_none_or(|last| last.elapsed() > Duration::from_millis(200));
        if uses_port && probe_due {
            last_probe = Some(Instant::now());
            let probe = server.addr;
            if TcpStream::connect_timeout(&probe, Duration::from_secs(1))
                .is_ok()
            {
                return Ok(server);
            }
        }
        if started.elapsed() > timeout {
            let output = server.last_output();
            server.stop();
            return Err(format!(
                "the server neither printed {LISTENING:?} nor accepted a \
                 connection within {timeout:?}{output}"
            ));
        }
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's last output lines, for an error message.
    pub fn last_output(&self) -> String {
        let lines = self.output.lock().map(|lines| lines.clone());
        match lines {
            Ok(lines) if !lines.is_empty() => {
                let lines: Vec<String> = lines.into_iter().collect();
                format!("; its last output:\n  {}", lines.join("\n  "))
            }
            _ => String::new(),
        }
    }

    /// Stops the server's process group (SIGTERM, then SIGKILL after 2 s),
    /// reaps it, and says what it used.
    pub fn stop(&mut self) -> Usage {
        #[cfg(unix)]
        {
            let group = -(self.child.id() as i32);
            // SAFETY: kill only sends a signal.
            unsafe { libc::kill(group, libc::SIGTERM) };
            let asked = Instant::now();
            while asked.elapsed() < Duration::from_secs(2) {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
            // SAFETY: as above; the group may be gone already.
            unsafe { libc::kill(group, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        children_usage()
    }
}

/// A port that nothing listens on now (it may be taken again before the
/// server binds it: the server then fails, and says so).
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|error| format!("cannot find a free port: {error}"))
}

fn drain(
    pipe: impl Read + Send + 'static,
    kept: Arc<Mutex<VecDeque<String>>>,
    ready: Option<mpsc::Sender<SocketAddr>>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        let mut ready = ready;
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = strip_colour(text.trim_end());
            if let Some(sender) = &ready {
                if let Some(addr) = parse_listening(&text) {
                    let _ = sender.send(addr);
                    ready = None;
                }
            }
            if let Ok(mut kept) = kept.lock() {
                if kept.len() == KEPT_LINES {
                    kept.pop_front();
                }
                kept.push_back(text);
            }
        }
    });
}

fn parse_listening(line: &str) -> Option<SocketAddr> {
    let at = line.find(LISTENING)?;
    let rest = &line[at + LISTENING.len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// Removes ANSI colour codes (`ESC [ … m`).
fn strip_colour(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The resident memory of process `pid` now, in KiB (Linux only).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of this process so far, all threads.
pub fn own_cpu() -> Option<Duration> {
    usage(Who::Myself).cpu
}

fn children_usage() -> Usage {
    usage(Who::Children)
}

enum Who {
    Myself,
    Children,
}

#[cfg(unix)]
fn usage(who: Who) -> Usage {
    let who = match who {
        Who::Myself => libc::RUSAGE_SELF,
        Who::Children => libc::RUSAGE_CHILDREN,
    };
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid
    // starting value for it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return Usage::default();
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64)
            + Duration::from_micros(t.tv_usec as u64)
    };
    Usage {
        cpu: Some(time(usage.ru_utime) + time(usage.ru_stime)),
        // Linux gives KiB (macOS bytes: this tool measures on Linux).
        max_rss_kib: Some(usage.ru_maxrss as u64),
    }
}

#[cfg(not(unix))]
fn usage(_who: Who) -> Usage {
    Usage::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_is_found_in_colour_too() {
        let line = strip_colour("\u{1b}[36mlistening on 127.0.0.1:9\u{1b}[0m");
        assert_eq!(
            parse_listening(&line),
            Some("127.0.0.1:9".parse().unwrap())
        );
        assert_eq!(parse_listening("connected: 127.0.0.1:9"), None);
    }
}
