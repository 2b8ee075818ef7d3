//! Lesson 16: an ICMP echo on a raw socket where the process may open one,
//! Linux's ICMP datagram socket where `ping_group_range` admits its group,
//! and, where neither is permitted, an explanation that names what is
//! missing. As root, the tests also run the lesson without CAP_NET_RAW
//! (`setpriv` drops it), and, where a network namespace of their own is
//! allowed, with a `ping_group_range` that admits the group.

#![cfg(target_os = "linux")]

mod common;

use socket2::{Domain, Protocol, Socket, Type};
use std::io::Read;
use std::process::Output;
use std::time::{Duration, Instant};

const NAME: &str = "16_raw_icmp";

/// What one run printed, and how it ended.
struct Run {
    succeeded: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(output: Output) -> Run {
        Run {
            succeeded: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The answer after `label: `, if the run printed one.
    fn answer(&self, label: &str) -> Option<&str> {
        let prefix = format!("{label}: ");
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
    }

    /// Asserts the one-line explanation of a run that no socket allowed.
    fn assert_names_what_is_missing(&self) {
        assert!(!self.succeeded, "{}", self.stdout);
        for needed in ["CAP_NET_RAW", "raw(7)", "net.ipv4.ping_group_range"] {
            assert!(self.stderr.contains(needed), "{needed}: {}", self.stderr);
        }
    }
}

/// The lesson, run as the tests run.
fn run_the_lesson() -> Run {
    Run::of(common::command(NAME).output().expect("the lesson runs"))
}

/// Whether this process may open a raw socket (root or CAP_NET_RAW).
fn may_open_raw_sockets() -> bool {
    Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).is_ok()
}

/// The lesson run without CAP_NET_RAW: as it is if the tests have no such
/// privilege, or through `setpriv`, which takes the capability out of the
/// bounding set so that the lesson's process cannot have it.
fn run_without_cap_net_raw() -> Run {
    if !may_open_raw_sockets() {
        return run_the_lesson();
    }
    let output = assert_cmd::Command::new("setpriv")
        .args(["--inh-caps=-net_raw", "--bounding-set=-net_raw"])
        .arg(common::binary(NAME))
        .env("NO_COLOR", "1")
        .timeout(common::TIMEOUT)
        .output()
        .expect("setpriv (util-linux) runs the lesson without CAP_NET_RAW");
    Run::of(output)
}

/// What a run without CAP_NET_RAW shows: EPERM for the raw socket, then an
/// echo on the datagram socket if `ping_group_range` admits the group, or
/// else the explanation of both refusals.
fn assert_the_unprivileged_outcome(run: &Run) {
    assert_eq!(
        run.answer("raw socket"),
        Some("EPERM (os error 1): Operation not permitted"),
        "{}",
        run.stdout
    );
    if run.succeeded {
        assert_eq!(run.answer("datagram reply type"), Some("0 (echo reply)"));
    } else {
        run.assert_names_what_is_missing();
    }
}

/// `net.ipv4.ping_group_range` admits this process's effective group.
fn ping_group_range_admits_our_group() -> bool {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
        .expect("the sysctl");
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let group: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("Gid:"))
        .and_then(|ids| ids.split_whitespace().nth(1)?.parse().ok())
        .expect("an effective group id");
    let bounds: Vec<u64> = range
        .split_whitespace()
        .map(|bound| bound.parse().expect("a number"))
        .collect();
    (bounds[0]..=bounds[1]).contains(&group)
}

#[test]
fn a_raw_socket_reads_the_echo_reply_with_its_ip_header() {
    let run = run_the_lesson();
    if !may_open_raw_sockets() {
        assert_the_unprivileged_outcome(&run);
        return;
    }
    assert!(run.succeeded, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.answer("raw socket"), Some("created"));
    let reply = run.answer("echo reply").expect("an echo reply");
    for part in [
        "type 0 (echo reply)",
        "(valid)",
        "identifier 0x1516",
        "sequence 1",
        "payload \"socket-lessons echo\"",
    ] {
        assert!(reply.contains(part), "{part}: {reply}");
    }
    assert_eq!(run.answer("IP header length"), Some("20"));
    assert_eq!(run.answer("protocol"), Some("1 (ICMP)"));
    assert_eq!(run.answer("source"), Some("127.0.0.1"));
}

#[test]
fn a_raw_socket_also_sees_our_own_echo_request_on_loopback() {
    if !may_open_raw_sockets() {
        assert_the_unprivileged_outcome(&run_the_lesson());
        return;
    }
    let run = run_the_lesson();
    assert_eq!(
        run.answer("first packet"),
        Some("our own echo request (type 8)")
    );
}

#[test]
fn a_new_raw_socket_leaves_ip_hdrincl_off() {
    if !may_open_raw_sockets() {
        assert_the_unprivileged_outcome(&run_the_lesson());
        return;
    }
    assert_eq!(run_the_lesson().answer("IP_HDRINCL"), Some("Ok(false)"));
}

#[test]
fn the_checksum_of_our_request_is_valid() {
    // The lesson builds the request once it has a raw socket to send it on.
    if !may_open_raw_sockets() {
        assert_the_unprivileged_outcome(&run_the_lesson());
        return;
    }
    let run = run_the_lesson();
    let request = run.answer("echo request").expect("the request");
    assert!(request.contains("checksum 0x3f09 (valid)"), "{request}");
}

#[test]
fn without_cap_net_raw_a_raw_socket_is_refused_with_eperm() {
    assert_the_unprivileged_outcome(&run_without_cap_net_raw());
}

#[test]
fn an_icmp_datagram_socket_is_allowed_exactly_when_ping_group_range_admits_the_group()
 {
    let run = run_the_lesson();
    let created = run.answer("datagram socket") == Some("created");
    if ping_group_range_admits_our_group() {
        assert!(created, "{}", run.stdout);
        assert_eq!(run.answer("datagram reply type"), Some("0 (echo reply)"));
        assert_eq!(run.answer("identifier is the socket's port"), Some("true"));
    } else {
        assert_eq!(
            run.answer("datagram socket"),
            Some("EACCES (os error 13): Permission denied"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn with_its_group_in_ping_group_range_a_process_without_cap_net_raw_pings() {
    // A network namespace of our own has its own ping_group_range, so the
    // test can widen it without touching the machine's. Creating one needs
    // CAP_SYS_ADMIN; without it, the lesson's explanation is what remains.
    let script = format!(
        "ip link set lo up && echo '0 2147483647' > \
         /proc/sys/net/ipv4/ping_group_range && \
         exec setpriv --inh-caps=-net_raw --bounding-set=-net_raw {}",
        common::binary(NAME).display()
    );
    let namespace = assert_cmd::Command::new("unshare")
        .args(["--net", "sh", "-c", "exit 0"])
        .output();
    if !namespace.is_ok_and(|output| output.status.success()) {
        assert_the_unprivileged_outcome(&run_without_cap_net_raw());
        return;
    }
    let output = assert_cmd::Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .env("NO_COLOR", "1")
        .timeout(common::TIMEOUT)
        .output()
        .expect("the lesson runs in a namespace of its own");
    let run = Run::of(output);
    assert!(run.succeeded, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("raw socket: EPERM"), "{}", run.stdout);
    assert_eq!(run.answer("datagram socket"), Some("created"));
    assert_eq!(run.answer("datagram reply type"), Some("0 (echo reply)"));
    assert_eq!(run.answer("datagram payload"), Some("socket-lessons echo"));
}

#[test]
fn linux_implements_no_sock_rdm_for_ipv4() {
    let run = run_the_lesson();
    assert_eq!(
        run.answer("SOCK_RDM socket"),
        Some("ESOCKTNOSUPPORT (os error 94): Socket type not supported")
    );
}

/// RFC 1071's checksum, as the lesson computes it.
fn internet_checksum(message: &[u8]) -> u16 {
    let mut sum: u32 = message
        .chunks(2)
        .map(|word| {
            u32::from(u16::from_be_bytes([word[0], *word.get(1).unwrap_or(&0)]))
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The ICMP types of the echo messages that carry `identifier` and
/// `payload`, in the order the raw socket received them within `wait`.
fn types_seen(
    socket: &Socket,
    identifier: u16,
    payload: &[u8],
    wait: Duration,
) -> Vec<u8> {
    let deadline = Instant::now() + wait;
    let mut types = Vec::new();
    let mut packet = [0; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return types;
        }
        socket.set_read_timeout(Some(left)).expect("a timeout");
        let Ok(count) = (&*socket).read(&mut packet) else {
            return types; // the wait is over
        };
        let header = usize::from(packet[0] & 0x0f) * 4;
        let icmp = &packet[header..count];
        if icmp.len() >= 8
            && icmp[4..6] == identifier.to_be_bytes()
            && &icmp[8..] == payload
        {
            types.push(icmp[0]);
        }
    }
}

#[test]
fn a_request_with_a_wrong_checksum_gets_no_reply() {
    let Ok(socket) =
        Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
    else {
        assert_the_unprivileged_outcome(&run_the_lesson());
        return;
    };
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into();
    // Ours alone, should the test run twice at once: another identifier
    // than the lesson's, and this process's id in the payload.
    let identifier: u16 = 0x1517;
    let payload = format!("wrong checksum {}", std::process::id());
    let mut request = vec![8, 0, 0, 0];
    request.extend_from_slice(&identifier.to_be_bytes());
    request.extend_from_slice(&[0, 1]);
    request.extend_from_slice(payload.as_bytes());
    let right = internet_checksum(&request);
    request[2..4].copy_from_slice(&(right ^ 0x0101).to_be_bytes());
    socket.send_to(&request, &loopback).expect("sent");
    // The raw socket sees the request itself; the kernel answers nothing.
    let wait = Duration::from_millis(300);
    assert_eq!(
        types_seen(&socket, identifier, payload.as_bytes(), wait),
        [8]
    );
    // The same request with the right checksum is answered.
    request[2..4].copy_from_slice(&right.to_be_bytes());
    socket.send_to(&request, &loopback).expect("sent");
    assert_eq!(
        types_seen(&socket, identifier, payload.as_bytes(), wait),
        [8, 0]
    );
}

#[test]
fn a_binary_with_the_cap_net_raw_file_capability_opens_raw_sockets_for_anyone()
{
    // `setcap cap_net_raw+ep FILE` gives the program the capability whoever
    // runs it, as some distributions give it to `ping`. Setting it takes
    // root (CAP_SETFCAP) and the setcap tool; without them, the lesson run
    // without the capability shows what is missing instead.
    let copy = std::env::temp_dir()
        .join(format!("socket-lessons-16-{}", std::process::id()));
    std::fs::copy(common::binary(NAME), &copy).expect("a copy of the lesson");
    let capable = may_open_raw_sockets()
        && std::process::Command::new("setcap")
            .arg("cap_net_raw+ep")
            .arg(&copy)
            .output()
            .is_ok_and(|output| output.status.success());
    if !capable {
        let _ = std::fs::remove_file(&copy);
        assert_the_unprivileged_outcome(&run_without_cap_net_raw());
        return;
    }
    // `nobody` (65534), with no groups: no privilege of its own. A thread of
    // this test process that forks while the copy is still open for writing
    // makes exec fail with ETXTBSY until its child has exec'd in turn: try
    // again, within the deadline.
    let deadline = Instant::now() + common::TIMEOUT;
    let output = loop {
        let output = assert_cmd::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&copy)
            .env("NO_COLOR", "1")
            .timeout(common::TIMEOUT)
            .output();
        let busy = output.as_ref().is_ok_and(|output| {
            String::from_utf8_lossy(&output.stderr).contains("Text file busy")
        });
        if !busy || Instant::now() > deadline {
            break output;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = std::fs::remove_file(&copy);
    let run = Run::of(output.expect("setpriv runs the copy as nobody"));
    assert_eq!(run.answer("raw socket"), Some("created"), "{}", run.stderr);
    assert_eq!(run.answer("our effective group"), Some("65534"));
    let reply = run.answer("echo reply").expect("an echo reply");
    assert!(reply.starts_with("type 0 (echo reply)"), "{reply}");
}
