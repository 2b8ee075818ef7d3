//! What each client counts, and the latency histogram they share the shape
//! of.

use crate::line::{self, Line};
use std::sync::Arc;

/// Latencies in microseconds, in buckets of at most 1/64 of their value
/// (exact below 128 µs), up to 2^40 µs (12 days): a few KiB per client,
/// where keeping every sample of a big run would take hundreds of MB.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const EXACT: u64 = 128;
const SUB: u64 = 64;
const TOP_SHIFT: u64 = 40 - 6;
const BUCKETS: usize = (EXACT + TOP_SHIFT * SUB) as usize;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }
}

fn index(value: u64) -> usize {
    let value = value.min((1 << 40) - 1);
    if value < EXACT {
        return value as usize;
    }
    let exponent = u64::from(63 - value.leading_zeros());
    let shift = exponent - 6;
    let top = value >> shift; // 64 ..= 127
    (EXACT + (shift - 1) * SUB + (top - SUB)) as usize
}

/// The middle of a bucket.
fn middle(index: usize) -> u64 {
    let index = index as u64;
    if index < EXACT {
        return index;
    }
    let rest = index - EXACT;
    let shift = rest / SUB + 1;
    let top = rest % SUB + SUB;
    (top << shift) + (1 << shift) / 2
}

impl Histogram {
    pub fn record(&mut self, micros: u64) {
        self.counts[index(micros)] += 1;
        self.total += 1;
        self.max = self.max.max(micros);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The value below which a fraction `q` of the samples lie (None when
    /// empty), never above the largest sample.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(middle(index).min(self.max));
            }
        }
        Some(self.max)
    }

    pub fn max(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }
}

/// What one client received.
pub struct Received {
    clients: usize,
    messages: usize,
    /// One bit per (sender, sequence number): seen already.
    seen: Vec<u64>,
    /// Per sender, the highest sequence number seen plus one (0: none yet).
    highest: Vec<u32>,
    /// Per sender, whether its warm-up line came.
    warm: Vec<bool>,
    /// Per sender, its address as a header must show it (`IP:PORT`).
    senders: Arc<[Box<[u8]>]>,
    /// The address in the last header, while no line has followed it.
    header: Option<Vec<u8>>,
    /// A buffer for it, kept from one header to the next.
    spare: Vec<u8>,
    pub hello_back: bool,
    pub warm_count: u64,
    pub delivered: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    pub malformed: u64,
    pub headers: u64,
    /// Measured lines that came without a header of their own (a server
    /// that sent several lines as one message).
    pub headerless: u64,
    /// Measured lines whose header named another address than the
    /// sender's.
    pub wrong_sender: u64,
    pub latency: Histogram,
    /// When the last measured line came (µs since the start).
    pub last_micros: u64,
}

/// What one batch of lines changed, for the shared counters.
#[derive(Default)]
pub struct Delta {
    pub delivered: u64,
    pub warm: u64,
    pub hello_back: bool,
}

impl Received {
    pub fn new(
        clients: usize,
        messages: usize,
        senders: Arc<[Box<[u8]>]>,
    ) -> Self {
        Received {
            clients,
            messages,
            seen: vec![0; (clients * messages).div_ceil(64)],
            highest: vec![0; clients],
            warm: vec![false; clients],
            senders,
            header: None,
            spare: Vec::new(),
            hello_back: false,
            warm_count: 0,
            delivered: 0,
            duplicated: 0,
            out_of_order: 0,
            malformed: 0,
            headers: 0,
            headerless: 0,
            wrong_sender: 0,
            latency: Histogram::default(),
            last_micros: 0,
        }
    }

    /// Counts one line received by client `me` at `now` (µs since the
    /// start).
    pub fn line(&mut self, me: u32, text: &[u8], now: u64, delta: &mut Delta) {
        let kind = line::classify(text);
        let header = match kind {
            Line::Header => {
                self.headers += 1;
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                let mut address = std::mem::take(&mut self.spare);
                address.clear();
                address.extend_from_slice(&text[20..]);
                if let Some(old) = self.header.replace(address) {
                    self.spare = old;
                }
                return;
            }
            Line::Blank => return,
            _ => self.header.take(),
        };
        match kind {
            Line::Header | Line::Blank => {}
            Line::Hello(client) => {
                if client == me && !self.hello_back {
                    self.hello_back = true;
                    delta.hello_back = true;
                }
            }
            Line::Warm(client) => match self.warm.get_mut(client as usize) {
                Some(seen @ false) => {
                    *seen = true;
                    self.warm_count += 1;
                    delta.warm += 1;
                }
                Some(true) => {}
                None => self.malformed += 1,
            },
            Line::Data {
                client,
                seq,
                micros,
            } => {
                let (client, seq) = (client as usize, seq as usize);
                if client >= self.clients || seq >= self.messages {
                    self.malformed += 1;
                    return;
                }
                let bit = client * self.messages + seq;
                let (word, mask) = (bit / 64, 1u64 << (bit % 64));
                if self.seen[word] & mask != 0 {
                    self.duplicated += 1;
                    return;
                }
                self.seen[word] |= mask;
                let highest = &mut self.highest[client];
                if (seq as u32) < *highest {
                    self.out_of_order += 1;
                } else {
                    *highest = seq as u32 + 1;
                }
                match header {
                    None => self.headerless += 1,
                    Some(address) => {
                        if *address != *self.senders[client] {
                            self.wrong_sender += 1;
                        }
                        self.spare = address;
                    }
                }
                self.delivered += 1;
                delta.delivered += 1;
                self.latency.record(now.saturating_sub(micros));
                self.last_micros = self.last_micros.max(now);
            }
            Line::Other => self.malformed += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_close() {
        let mut last = 0;
        for value in 0..1_000_000u64 {
            let index = index(value);
            assert!(index == last || index == last + 1, "{value}");
            last = index;
            let middle = middle(index);
            assert!(middle.abs_diff(value) * 64 <= value.max(1), "{value}");
        }
        assert!(index(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles_come_from_the_samples() {
        let mut histogram = Histogram::default();
        for value in 1..=100 {
            histogram.record(value);
        }
        assert_eq!(histogram.quantile(0.5), Some(50));
        assert_eq!(histogram.quantile(0.99), Some(99));
        assert_eq!(histogram.max(), Some(100));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn duplicates_and_reordering_are_counted() {
        let senders: Arc<[Box<[u8]>]> = Arc::from(vec![
            Box::from(&b"127.0.0.1:1"[..]),
            Box::from(&b"127.0.0.1:2"[..]),
        ]);
        let mut received = Received::new(2, 3, senders);
        let mut delta = Delta::default();
        let lines = [(1, 0, true), (1, 2, true), (1, 1, false), (1, 2, true)];
        for (client, seq, headed) in lines.into_iter().chain([(0, 0, true)]) {
            if headed {
                let header = format!("2016/09/03 19:11:20 127.0.0.1:{}", 1);
                received.line(0, header.as_bytes(), 25, &mut delta);
            }
            let mut text = Vec::new();
            line::data(&mut text, client, seq, 10, 0);
            text.pop();
            received.line(0, &text, 25, &mut delta);
            received.line(0, b"", 25, &mut delta);
        }
        assert_eq!(received.headers, 4);
        assert_eq!(received.headerless, 1);
        // Client 1's lines under client 0's address (the duplicate is not
        // checked).
        assert_eq!(received.wrong_sender, 2);
        assert_eq!(received.delivered, 4);
        assert_eq!(delta.delivered, 4);
        assert_eq!(received.duplicated, 1);
        assert_eq!(received.out_of_order, 1);
        assert_eq!(received.latency.quantile(1.0), Some(15));
    }
}
