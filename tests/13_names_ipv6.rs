//! Lesson 13: names and address families. What the resolver gives for `localhost`, an IP
//! address and a name that cannot exist; an IPv6 client and server on `[::1]`; a listener on
//! `[::]` that takes IPv4 clients as mapped addresses (`IPV6_V6ONLY` off) or refuses them
//! (on). Every test reads what the experiment printed. Where this machine has no IPv6
//! loopback, the tests that need it assert the lesson's explanation instead.

mod common;

use socket_lessons::check::experiment::Answers;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener};

const LESSON: &str = "13_names_ipv6";

/// Whether this machine has an IPv6 loopback to bind: what parts 2 to 4 need.
fn ipv6_available() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// Runs the experiment and hands its answers to `check`; where there is no IPv6 loopback,
/// asserts instead that the lesson says so and exits non-zero.
fn with_ipv6(check: impl FnOnce(&Answers)) {
    if ipv6_available() {
        check(&common::run_experiment(LESSON));
    } else {
        common::command(LESSON).assert().failure().stderr(
            predicates::str::contains("IPv6 is not available on this machine"),
        );
    }
}

/// Part 1's answers: what the experiment printed, whether or not it could go on to the
/// parts that need IPv6.
fn names(args: &[&str]) -> Vec<String> {
    let output = common::command(LESSON)
        .args(args)
        .output()
        .expect("run the lesson");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The answer printed after `label: ` in `lines`.
fn answer<'a>(lines: &'a [String], label: &str) -> &'a str {
    let prefix = format!("{label}: ");
    lines
        .iter()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{label}: …` line in {lines:#?}"))
}

/// The IP addresses in an answer that lists socket addresses (`127.0.0.1:9999, [::1]:9999`).
fn addresses(answer: &str) -> BTreeSet<IpAddr> {
    answer
        .split(", ")
        .map(|address| {
            address
                .parse::<SocketAddr>()
                .unwrap_or_else(|_| panic!("not an address: {answer:?}"))
                .ip()
        })
        .collect()
}

#[test]
fn localhost_resolves_to_every_address_in_etc_hosts() {
    let resolved = addresses(answer(&names(&[]), "localhost resolves to"));
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let listed: BTreeSet<IpAddr> = hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.next()?.parse().ok()?;
            fields.any(|name| name == "localhost").then_some(address)
        })
        .collect();
    if listed.is_empty() {
        // No /etc/hosts entry: the name came from elsewhere (DNS, systemd's resolver).
        assert!(!resolved.is_empty());
    } else {
        assert_eq!(resolved, listed, "/etc/hosts:\n{hosts}");
    }
}

#[test]
fn an_ip_address_resolves_to_itself_alone() {
    let lines = names(&[]);
    assert_eq!(answer(&lines, "127.0.0.1 resolves to"), "127.0.0.1:9999");
    assert_eq!(answer(&lines, "::1 resolves to"), "[::1]:9999");
}

#[test]
fn a_name_under_invalid_does_not_resolve() {
    // `.invalid` is reserved never to exist (RFC 6761). The name is not in /etc/hosts, so
    // the resolver asks DNS: either DNS says there is no such name, or, when its answer is
    // lost, the lesson stops waiting after two seconds.
    let lines = names(&["--lookup", "no-such-host.invalid"]);
    let failure = answer(&lines, "no-such-host.invalid resolves to");
    assert!(
        failure.contains("failed to lookup address information")
            || failure.contains("the resolver gave no answer"),
        "{failure}"
    );
}

#[test]
fn an_ipv6_client_and_server_meet_on_the_ipv6_loopback() {
    with_ipv6(|answers| {
        for label in [
            "the IPv6 listener is on",
            "the client's own address",
            "the client's peer",
            "the server sees the client as",
        ] {
            let address: SocketAddr =
                answers.get(label).unwrap().parse().unwrap();
            assert_eq!(
                address.ip(),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                "{label}"
            );
        }
        assert_eq!(
            answers.get("the client's own address").unwrap(),
            answers.get("the server sees the client as").unwrap()
        );
        assert_eq!(answers.get("flowinfo").unwrap(), "0");
        assert_eq!(answers.get("scope_id").unwrap(), "0");
        answers
            .expect("the server received", "\"hello over IPv6\"")
            .unwrap();
    });
}

#[test]
#[cfg(target_os = "linux")]
fn a_new_ipv6_socket_takes_ipv6_only_from_bindv6only_on_linux() {
    with_ipv6(|answers| {
        let setting =
            std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only").unwrap();
        let expected = if setting.trim() == "1" {
            "true"
        } else {
            "false"
        };
        assert_eq!(
            answers.get("/proc/sys/net/ipv6/bindv6only").unwrap(),
            setting.trim()
        );
        assert_eq!(
            answers.get("only_v6 of a new IPv6 socket").unwrap(),
            expected
        );
    });
}

#[test]
fn a_dual_stack_listener_sees_an_ipv4_client_as_mapped() {
    with_ipv6(|answers| {
        let client: SocketAddr = answers
            .get("the IPv4 client's own address")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(client.ip().to_string(), "127.0.0.1");
        let seen: SocketAddr = answers
            .get("the dual-stack server sees the IPv4 client as")
            .unwrap()
            .parse()
            .unwrap();
        let SocketAddr::V6(seen) = seen else {
            panic!("an IPv6 socket gave an IPv4 address: {seen}")
        };
        assert_eq!(seen.ip().to_string(), "::ffff:127.0.0.1");
        assert_eq!(seen.port(), client.port());
        answers
            .expect("the accepted socket's own address", "[::ffff:127.0.0.1]:")
            .unwrap();
    });
}

#[test]
fn a_dual_stack_listener_holds_its_port_for_ipv4_too() {
    with_ipv6(|answers| {
        answers
            .expect("IPv4 bind to the dual-stack port", "EADDRINUSE")
            .unwrap();
    });
}

#[test]
fn a_v6_only_listener_refuses_an_ipv4_client() {
    with_ipv6(|answers| {
        // The IPv4 side of the port is free: the lesson could bind it (and held it, so the
        // refusal cannot be some other program's listener answering).
        answers
            .expect("IPv4 bind to the IPv6-only port", "Ok(())")
            .unwrap();
        answers
            .expect("IPv4 connect to the IPv6-only port", "ECONNREFUSED")
            .unwrap();
        answers
            .expect("IPv6 connect to the IPv6-only port", "[::1]:")
            .unwrap();
    });
}

#[test]
#[cfg(target_os = "linux")]
fn ipv6_only_cannot_change_after_bind_on_linux() {
    with_ipv6(|answers| {
        answers.expect("set_only_v6 after bind", "EINVAL").unwrap();
    });
}

#[test]
fn to_ipv4_reads_the_ipv6_loopback_as_0_0_0_1_and_to_ipv4_mapped_does_not() {
    with_ipv6(|answers| {
        let expected = [
            ("127.0.0.1 as a mapped IPv6 address", "::ffff:127.0.0.1"),
            ("its to_ipv4_mapped()", "Some(127.0.0.1)"),
            ("its IpAddr::to_canonical()", "127.0.0.1"),
            ("::1 to_ipv4_mapped()", "None"),
            ("::1 to_ipv4()", "Some(0.0.0.1)"),
        ];
        for (label, answer) in expected {
            assert_eq!(answers.get(label).unwrap(), answer, "{label}");
        }
    });
}
