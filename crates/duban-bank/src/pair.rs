//! The first matching rule: a transfer between two of one's own accounts leaves one statement
//! and arrives on another with the same amount, booked seconds apart. Amount alone is
//! ambiguous (several transfers of 500,000.00 on a day); the booking time pairs them.

use crate::Statement;
use duban_core::money::Money;
use serde::{Deserialize, Serialize};

/// A line leaving one statement paired with the line arriving on another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// (statement index, line index) of the outgoing line.
    pub from: (usize, usize),
    /// (statement index, line index) of the incoming line.
    pub to: (usize, usize),
    /// The amount moved, positive.
    pub amount: Money,
    /// Seconds between the two bookings.
    pub gap_seconds: i64,
}

/// Pairs money leaving one statement with money arriving on another: same amount, both
/// booked with a time, at most `window_seconds` apart. Each line is used once; closer pairs
/// are taken first, and a line with two equally close candidates is left unpaired.
pub fn pair_transfers(statements: &[Statement], window_seconds: i64) -> Vec<Transfer> {
    let mut candidates = Vec::new();
    for (si, s) in statements.iter().enumerate() {
        for (li, out) in s.lines.iter().enumerate() {
            let (Some(t_out), true) = (out.time, out.amount.is_negative()) else {
                continue;
            };
            let Some(amount) = out.amount.checked_neg() else {
                continue;
            };
            for (sj, other) in statements.iter().enumerate().filter(|(sj, _)| *sj != si) {
                for (lj, inc) in other.lines.iter().enumerate() {
                    let Some(t_in) = inc.time else { continue };
                    let gap = (t_in - t_out).num_seconds().abs();
                    if inc.amount == amount && gap <= window_seconds {
                        candidates.push(Transfer {
                            from: (si, li),
                            to: (sj, lj),
                            amount,
                            gap_seconds: gap,
                        });
                    }
                }
            }
        }
    }
    candidates.sort_by_key(|c| (c.gap_seconds, c.from, c.to));
    let mut used = std::collections::HashSet::new();
    let mut pairs = Vec::new();
    for (k, c) in candidates.iter().enumerate() {
        if used.contains(&c.from) || used.contains(&c.to) {
            continue;
        }
        // An equally close rival for either side makes the pairing a guess: leave it.
        let tie = candidates.iter().enumerate().any(|(j, d)| {
            j != k
                && d.gap_seconds == c.gap_seconds
                && (d.from == c.from) != (d.to == c.to)
                && !used.contains(&d.from)
                && !used.contains(&d.to)
        });
        if tie {
            continue;
        }
        used.insert(c.from);
        used.insert(c.to);
        pairs.push(c.clone());
    }
    pairs.sort_by_key(|p| (p.from, p.to));
    pairs
}
