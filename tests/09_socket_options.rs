//! Lesson 09: the experiment keeps its checks (`socket_lessons::check::options`), and each
//! thing chapter 09 says the OS does is read here from what the lesson printed: TIME_WAIT and
//! SO_REUSEADDR, the buffer sizes Linux really sets, Nagle's delay, the keepalive timers, and
//! the close that resets. Two claims the experiment does not print (a listening port stays
//! taken; a reset leaves no TIME_WAIT) are shown here directly.

mod common;

use common::{assert_keeps_its_protocol, run_experiment};
use socket_lessons::check::experiment::Answers;
use std::sync::OnceLock;

const LESSON: &str = "09_socket_options";

#[test]
fn the_experiment_keeps_its_checks() {
    assert_keeps_its_protocol(LESSON, &[]);
}

/// What the experiment printed: one run, shared by every test of this file that reads it.
fn answers() -> &'static Answers {
    static ANSWERS: OnceLock<Answers> = OnceLock::new();
    ANSWERS.get_or_init(|| run_experiment(LESSON))
}

/// The first whole number in the answer to `label`: `Ok(8192)` gives 8192.
fn number(answers: &Answers, label: &str) -> u64 {
    let answer = answers
        .get(label)
        .unwrap_or_else(|failure| panic!("{failure}"));
    let digits: String = answer
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number in `{label}: {answer}`"))
}

/// The answer to `label`, which must be there.
fn answer<'a>(answers: &'a Answers, label: &str) -> &'a str {
    answers
        .get(label)
        .unwrap_or_else(|failure| panic!("{failure}"))
}

/// A time as the lesson prints it (`44.0 ms`, `21.3 µs`), in seconds.
fn seconds(answers: &Answers, label: &str) -> f64 {
    let text = answer(answers, label);
    let (amount, unit) = text.split_once(' ').expect("a number and a unit");
    let amount: f64 = amount.parse().expect("a number");
    amount
        * match unit {
            "s" => 1.0,
            "ms" => 1e-3,
            "µs" => 1e-6,
            other => panic!("unexpected unit {other} in `{label}: {text}`"),
        }
}

/// A number from a file of /proc/sys, the `column`th if it holds several.
#[cfg(target_os = "linux")]
fn sysctl(path: &str, column: usize) -> u64 {
    let text = std::fs::read_to_string(path).expect("a /proc/sys file");
    text.split_whitespace()
        .nth(column)
        .and_then(|field| field.parse().ok())
        .unwrap_or_else(|| panic!("no number {column} in {path}: {text}"))
}

#[cfg(unix)]
#[test]
fn std_listeners_turn_so_reuseaddr_on() {
    let answers = answers();
    assert_eq!(
        answer(answers, "SO_REUSEADDR of std's listener"),
        "Ok(true)"
    );
}

#[test]
fn the_client_reads_end_of_file_once_the_server_has_closed_first() {
    let answers = answers();
    assert_eq!(
        answer(answers, "the client's read after the server's close"),
        "Ok(0)"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn the_end_that_closes_first_waits_in_time_wait() {
    let answers = answers();
    assert_eq!(
        answer(answers, "the server's end, as ss sees it"),
        "TIME_WAIT"
    );
}

#[test]
fn rebinding_a_port_in_time_wait_needs_so_reuseaddr() {
    let answers = answers();
    let without = answer(answers, "bind without SO_REUSEADDR");
    assert!(without.starts_with("EADDRINUSE"), "{without}");
    assert_eq!(answer(answers, "bind with SO_REUSEADDR"), "Ok(())");
    assert_eq!(answer(answers, "listen with SO_REUSEADDR"), "Ok(())");
}

/// SO_REUSEADDR is no way to run two servers on one port: a listening socket keeps it, from
/// a socket that has the option as much as from one without.
#[cfg(unix)]
#[test]
fn so_reuseaddr_does_not_free_a_port_that_a_socket_listens_on() {
    use socket2::{Domain, Socket, Type};
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let address = listener.local_addr().expect("its address");
    let second =
        Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    second.set_reuse_address(true).expect("SO_REUSEADDR");
    let error = second
        .bind(&address.into())
        .expect_err("the port is taken by a listener");
    assert_eq!(error.raw_os_error(), Some(libc::EADDRINUSE), "{error}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_new_tcp_socket_gets_the_systems_default_buffer_sizes() {
    let answers = answers();
    // net.ipv4.tcp_rmem and tcp_wmem: minimum, default, maximum.
    assert_eq!(
        number(answers, "SO_RCVBUF of a new TCP socket"),
        sysctl("/proc/sys/net/ipv4/tcp_rmem", 1)
    );
    assert_eq!(
        number(answers, "SO_SNDBUF of a new TCP socket"),
        sysctl("/proc/sys/net/ipv4/tcp_wmem", 1)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn linux_doubles_the_buffer_size_it_is_asked_for() {
    let answers = answers();
    for asked in [4096, 100_000] {
        for option in ["SO_RCVBUF", "SO_SNDBUF"] {
            let label = format!("{option} after asking for {asked}");
            assert_eq!(number(answers, &label), 2 * asked, "{label}");
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn linux_sets_at_least_a_floor_however_little_is_asked_for() {
    let answers = answers();
    let receive = number(answers, "SO_RCVBUF after asking for 1");
    let send = number(answers, "SO_SNDBUF after asking for 1");
    // socket(7): the minimum is 256 bytes for receiving and 2048 for sending, doubled; the
    // kernel adds room for its own bookkeeping on top.
    assert!(
        receive >= 2 * 256,
        "SO_RCVBUF after asking for 1: {receive}"
    );
    assert!(send >= 2 * 2048, "SO_SNDBUF after asking for 1: {send}");
}

#[cfg(target_os = "linux")]
#[test]
fn linux_caps_the_request_at_rmem_max_and_wmem_max_before_doubling() {
    let answers = answers();
    let asked = 10_000_000;
    let receive_max = number(answers, "net.core.rmem_max");
    let send_max = number(answers, "net.core.wmem_max");
    assert_eq!(receive_max, sysctl("/proc/sys/net/core/rmem_max", 0));
    assert_eq!(send_max, sysctl("/proc/sys/net/core/wmem_max", 0));
    assert_eq!(
        number(answers, &format!("SO_RCVBUF after asking for {asked}")),
        2 * receive_max.min(asked)
    );
    assert_eq!(
        number(answers, &format!("SO_SNDBUF after asking for {asked}")),
        2 * send_max.min(asked)
    );
}

#[test]
fn tcp_nodelay_is_off_on_a_new_connection_and_reads_back_on_once_set() {
    let answers = answers();
    assert_eq!(
        answer(answers, "TCP_NODELAY of a new connection"),
        "Ok(false)"
    );
    assert_eq!(answer(answers, "TCP_NODELAY after setting it"), "Ok(true)");
}

#[test]
fn nagle_delays_the_second_small_write() {
    let answers = answers();
    let nagle = seconds(answers, "Nagle on (the default), median round");
    let no_delay = seconds(answers, "TCP_NODELAY on, median round");
    // The body waits for the delayed ACK of the header: 40 ms at least on Linux (its
    // shortest delayed-ACK timer, counted in clock ticks).
    #[cfg(target_os = "linux")]
    assert!(nagle >= 0.030, "Nagle's median round took {nagle} s");
    assert!(
        nagle >= 4.0 * no_delay,
        "Nagle's median round {nagle} s against TCP_NODELAY's {no_delay} s"
    );
}

#[test]
fn tcp_nodelay_sends_the_second_write_at_once() {
    let answers = answers();
    let no_delay = seconds(answers, "TCP_NODELAY on, median round");
    // A loopback round trip with nothing held back: microseconds, a few ms on a busy
    // machine, never a delayed ACK's 40.
    assert!(
        no_delay < 0.010,
        "TCP_NODELAY's median round took {no_delay} s"
    );
}

#[test]
fn keepalive_is_off_on_a_new_socket_and_reads_back_on_once_set() {
    let answers = answers();
    assert_eq!(
        answer(answers, "SO_KEEPALIVE of a new TCP socket"),
        "Ok(false)"
    );
    assert_eq!(answer(answers, "SO_KEEPALIVE after setting it"), "Ok(true)");
}

#[cfg(target_os = "linux")]
#[test]
fn a_new_socket_takes_its_keepalive_timers_from_the_system() {
    let answers = answers();
    let idle = sysctl("/proc/sys/net/ipv4/tcp_keepalive_time", 0);
    let interval = sysctl("/proc/sys/net/ipv4/tcp_keepalive_intvl", 0);
    let probes = sysctl("/proc/sys/net/ipv4/tcp_keepalive_probes", 0);
    assert_eq!(
        answer(answers, "TCP_KEEPIDLE of a new TCP socket"),
        format!("Ok({idle}s)")
    );
    assert_eq!(
        answer(answers, "TCP_KEEPINTVL of a new TCP socket"),
        format!("Ok({interval}s)")
    );
    assert_eq!(
        answer(answers, "TCP_KEEPCNT of a new TCP socket"),
        format!("Ok({probes})")
    );
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
#[test]
fn set_tcp_keepalive_sets_the_three_timers() {
    let answers = answers();
    for (label, wanted) in [
        ("TCP_KEEPIDLE after set_tcp_keepalive", "Ok(60s)"),
        ("TCP_KEEPINTVL after set_tcp_keepalive", "Ok(10s)"),
        ("TCP_KEEPCNT after set_tcp_keepalive", "Ok(3)"),
    ] {
        assert_eq!(answer(answers, label), wanted, "{label}");
    }
}

#[test]
fn a_plain_close_gives_the_peer_end_of_file() {
    let answers = answers();
    assert_eq!(answer(answers, "SO_LINGER of a new connection"), "Ok(None)");
    assert_eq!(
        answer(answers, "the peer's read after a plain close"),
        "Ok(0)"
    );
}

#[test]
fn a_zero_linger_close_resets_the_peer() {
    let answers = answers();
    assert_eq!(
        answer(answers, "SO_LINGER after setting zero"),
        "Ok(Some(0ns))"
    );
    let read = answer(answers, "the peer's read after a zero-linger close");
    assert!(read.starts_with("ECONNRESET"), "{read}");
}

#[test]
fn after_the_reset_the_peers_next_read_returns_0() {
    let answers = answers();
    assert_eq!(answer(answers, "the peer's next read"), "Ok(0)");
}

/// The end that closes with a reset skips TIME_WAIT. The server's end closes first, as in
/// part 1, and the listener is gone: after a plain close, the connection in TIME_WAIT keeps
/// the port from a bind without SO_REUSEADDR; after a zero-linger close nothing holds it.
#[cfg(unix)]
#[test]
fn a_zero_linger_close_leaves_no_time_wait() {
    use socket2::{Domain, SockRef, Socket, Type};
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    for zero_linger in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
        let address = listener.local_addr().expect("its address");
        let mut client = TcpStream::connect(address).expect("a connection");
        client
            .set_read_timeout(Some(common::TIMEOUT))
            .expect("a timeout");
        let (connection, _) = listener.accept().expect("accepted");
        if zero_linger {
            SockRef::from(&connection)
                .set_linger(Some(Duration::ZERO))
                .expect("SO_LINGER");
        }
        drop(connection);
        drop(listener);
        // The FIN or the reset has arrived once the client's read returns.
        let _ = client.read(&mut [0u8; 16]);
        drop(client);

        let socket =
            Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
        socket.set_reuse_address(false).expect("SO_REUSEADDR off");
        let bound = socket.bind(&address.into());
        if zero_linger {
            assert!(bound.is_ok(), "nothing holds the port: {bound:?}");
        } else {
            let error =
                bound.expect_err("the connection in TIME_WAIT holds the port");
            assert_eq!(error.raw_os_error(), Some(libc::EADDRINUSE), "{error}");
        }
    }
}

/// Nagle's algorithm holds a small segment only while an earlier one is unacknowledged: the
/// same request in one write goes out whole, and its round takes no delayed ACK, with Nagle
/// still on.
#[test]
fn one_write_of_the_whole_request_is_not_delayed_by_nagle() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Instant;

    const REQUEST: &[u8] = b"LEN 5\nhello";
    const ROUNDS: usize = 5;
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let address = listener.local_addr().expect("its address");
    let server = std::thread::spawn(move || {
        let (mut connection, _) = listener.accept().expect("accepted");
        connection
            .set_read_timeout(Some(common::TIMEOUT))
            .expect("a timeout");
        let mut request = [0u8; REQUEST.len()];
        for _ in 0..ROUNDS {
            connection.read_exact(&mut request).expect("a request");
            connection.write_all(b"k").expect("a reply");
        }
    });
    let mut client = TcpStream::connect(address).expect("a connection");
    client
        .set_read_timeout(Some(common::TIMEOUT))
        .expect("a timeout");
    assert!(!client.nodelay().expect("TCP_NODELAY"), "Nagle is on");
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            client
                .write_all(REQUEST)
                .expect("the request, in one write");
            client.read_exact(&mut [0u8; 1]).expect("the reply");
            start.elapsed().as_secs_f64()
        })
        .collect();
    server.join().expect("the server thread");
    rounds.sort_by(f64::total_cmp);
    let median = rounds[ROUNDS / 2];
    assert!(median < 0.010, "one-write rounds, median {median} s");
}

/// SO_REUSEADDR is asked of both sockets: one bound without it keeps the port from a socket
/// that has it.
#[cfg(unix)]
#[test]
fn a_socket_bound_without_so_reuseaddr_keeps_the_port_from_one_with_it() {
    use socket2::{Domain, Socket, Type};
    let first =
        Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    first.set_reuse_address(false).expect("SO_REUSEADDR off");
    first
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .expect("a bind");
    let address = first.local_addr().expect("its address");
    let second =
        Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    second.set_reuse_address(true).expect("SO_REUSEADDR on");
    let error = second
        .bind(&address)
        .expect_err("the port is held by a socket without SO_REUSEADDR");
    assert_eq!(error.raw_os_error(), Some(libc::EADDRINUSE), "{error}");
}

/// Why the lesson listens only after a bind that worked: `listen` on a socket with no address
/// binds it first, to a port of the OS's choice, and succeeds.
#[test]
fn listen_on_a_socket_with_no_address_binds_it_to_a_free_port() {
    use socket2::{Domain, Socket, Type};
    let socket =
        Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    socket.listen(128).expect("listen without a bind");
    let address = socket
        .local_addr()
        .expect("an address")
        .as_socket()
        .expect("an IP address");
    assert_ne!(address.port(), 0, "{address}");
}
