//! Pro-rata splits by the largest-remainder method: the parts always sum to the total.
//!
//! Each part first gets the floor of its exact quota `total × weight ÷ Σweights` in fen;
//! the fen left over go one each to the parts with the largest remainders, ties to the
//! earlier part. Everything is integer arithmetic on fen, so nothing is lost to rounding.

use crate::error::LedgerError;
use duban_core::money::Money;

/// Splits `total` in proportion to `weights`.
pub fn split(total: Money, weights: &[u64]) -> Result<Vec<Money>, LedgerError> {
    if weights.is_empty() {
        return Err(LedgerError::Invalid(
            "a split needs at least one part".into(),
        ));
    }
    if total.is_negative() {
        return Err(LedgerError::Invalid(
            "a split needs a total of zero or more".into(),
        ));
    }
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if sum == 0 {
        return Err(LedgerError::Invalid(
            "the weights of a split sum to zero".into(),
        ));
    }
    let total_fen = total.fen() as u128;
    let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        // total_fen < 2^63 and w < 2^64, so the product fits in u128.
        let exact = total_fen * u128::from(w);
        parts.push(exact / sum);
        remainders.push((exact % sum, i));
    }
    let given: u128 = parts.iter().sum();
    let left = (total_fen - given) as usize;
    // Largest remainder first; on a tie the earlier part first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(left) {
        parts[i] += 1;
    }
    Ok(parts
        .into_iter()
        .map(|p| Money::from_fen(p as i64))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn thirds_of_a_yuan() {
        let parts = split(Money::yuan(1), &[1, 1, 1]).unwrap();
        assert_eq!(
            parts,
            vec![
                Money::from_fen(34),
                Money::from_fen(33),
                Money::from_fen(33)
            ]
        );
    }

    #[test]
    fn largest_remainder_wins_the_extra_fen() {
        // Quotas 1.666…, 3.333… fen of 5 with weights 1:2 → remainders 2/3 and 1/3.
        let parts = split(Money::from_fen(5), &[1, 2]).unwrap();
        assert_eq!(parts, vec![Money::from_fen(2), Money::from_fen(3)]);
    }

    #[test]
    fn zero_weights_get_nothing() {
        let parts = split(Money::yuan(10), &[0, 3, 0, 1]).unwrap();
        assert_eq!(
            parts,
            vec![
                Money::ZERO,
                Money::from_fen(750),
                Money::ZERO,
                Money::from_fen(250)
            ]
        );
    }

    #[test]
    fn refuses_empty_or_weightless() {
        assert!(split(Money::yuan(1), &[]).is_err());
        assert!(split(Money::yuan(1), &[0, 0]).is_err());
        assert!(split(Money::from_fen(-1), &[1]).is_err());
    }

    proptest! {
        #[test]
        fn parts_sum_to_the_total_and_stay_within_a_fen_of_the_quota(
            total in 0i64..1_000_000_000_000,
            weights in prop::collection::vec(0u64..1_000_000_000, 1..40),
        ) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let parts = split(Money::from_fen(total), &weights).unwrap();
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(parts.iter().map(|m| m.fen()).sum::<i64>(), total);
            let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
            for (p, &w) in parts.iter().zip(&weights) {
                let floor = (total as u128 * u128::from(w) / sum) as i64;
                prop_assert!(p.fen() == floor || p.fen() == floor + 1);
            }
        }
    }
}
