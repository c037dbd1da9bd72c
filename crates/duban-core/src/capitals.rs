//! Amounts in Chinese capitals (大写金额), as written on vouchers, statements and bills.
//!
//! The rules are those of 会计基础工作规范 (第五十二条) and of the PBOC's
//! 《正确填写票据和结算凭证的基本规定》 (支付结算办法 附一):
//!
//! - Digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟万亿, then 元角分; `人民币` precedes the
//!   amount with no gap ([`rmb`]).
//! - A run of zeros between two non-zero digits of the yuan is written as one 零, whether it
//!   lies inside a group of four or across 万 or 亿 (`107,000` → 壹拾万零柒仟).
//! - Zeros at the end of the yuan are not written, and no 零 stands between 元 and a non-zero
//!   角 (`1,680.32` → 壹仟陆佰捌拾元叁角贰分): both rulebooks allow leaving it out there.
//! - When 角 is zero and 分 is not, 零 follows 元 (`16,409.02` → …元零贰分), as both require.
//! - 整 follows 元 or 角 when there is no 分 (`1,409.50` → …元伍角整); never after 分. The
//!   PBOC makes 整 after 角 optional and the 会计基础工作规范 asks for it, so it is written.
//! - A leading ten is written 壹拾 (`10` → 壹拾元整, as in the PBOC's 壹拾万).
//! - Less than one yuan has no 元 (`0.05` → 伍分); nothing at all is 零元整.
//! - A negative amount is preceded by 负.
//!
//! Every amount an `i64` of fen can hold has its spelling: past 万亿 the units repeat
//! (…亿…亿). The function works on whole fen; no float is involved.

use crate::money::Money;

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
const UNITS: [&str; 4] = ["", "拾", "佰", "仟"];

/// The amount in capitals, without the currency: `1409.50` → `壹仟肆佰零玖元伍角整`.
pub fn capitals(amount: Money) -> String {
    let fen = amount.fen();
    let magnitude = fen.unsigned_abs();
    let (yuan, jiao, fen_digit) = (
        magnitude / 100,
        (magnitude / 10 % 10) as usize,
        (magnitude % 10) as usize,
    );
    let mut out = String::new();
    if fen < 0 {
        out.push('负');
    }
    if yuan > 0 {
        whole(yuan, &mut out);
        out.push('元');
    }
    match (jiao, fen_digit) {
        (0, 0) if yuan == 0 => out.push_str("零元整"),
        (0, 0) => out.push('整'),
        (0, f) => {
            if yuan > 0 {
                out.push('零');
            }
            out.push(DIGITS[f]);
            out.push('分');
        }
        (j, f) => {
            out.push(DIGITS[j]);
            out.push('角');
            if f == 0 {
                out.push('整');
            } else {
                out.push(DIGITS[f]);
                out.push('分');
            }
        }
    }
    out
}

/// The amount in capitals after `人民币`: `6007.14` → `人民币陆仟零柒元壹角肆分`.
pub fn rmb(amount: Money) -> String {
    format!("人民币{}", capitals(amount))
}

/// A positive whole number of yuan: groups of eight digits joined by 亿, each read as up to
/// two groups of four joined by 万; one 零 for a run of zeros between non-zero digits.
fn whole(n: u64, out: &mut String) {
    split(n, 100_000_000, '亿', out, below_yi);
}

fn below_yi(n: u64, out: &mut String) {
    split(n, 10_000, '万', out, group);
}

/// `n` as its part above `base` (read by `whole`, so that 亿 repeats), the unit, and the part
/// below (read by `low`), with 零 where zeros stand between the two.
fn split(n: u64, base: u64, unit: char, out: &mut String, low: fn(u64, &mut String)) {
    let (high, rest) = (n / base, n % base);
    if high == 0 {
        return low(rest, out);
    }
    whole(high, out);
    out.push(unit);
    if rest > 0 {
        if high % 10 == 0 || rest < base / 10 {
            out.push('零');
        }
        low(rest, out);
    }
}

/// 1..=9999: each non-zero digit with its unit, one 零 for zeros between them.
fn group(n: u64, out: &mut String) {
    let mut zero = false;
    for place in (0..4).rev() {
        let digit = (n / 10u64.pow(place) % 10) as usize;
        if digit == 0 {
            zero = n >= 10u64.pow(place + 1);
            continue;
        }
        if zero {
            out.push('零');
            zero = false;
        }
        out.push(DIGITS[digit]);
        out.push_str(UNITS[place as usize]);
    }
}

#[cfg(test)]
// Amounts are written yuan_fen (`1_409_50` is 1,409.50), as they read on a voucher.
#[allow(clippy::inconsistent_digit_grouping, clippy::mistyped_literal_suffixes)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads capitals back into fen, independently of how they were written: digits multiply
    /// the unit after them, 万 closes a group of four, 亿 multiplies everything before it.
    fn parse(text: &str) -> i128 {
        let (negative, text) = match text.strip_prefix('负') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mut total, mut wan, mut group, mut digit, mut fen) =
            (0i128, 0i128, 0i128, 0i128, 0i128);
        for c in text.chars() {
            if let Some(d) = DIGITS.iter().position(|&x| x == c) {
                digit = d as i128;
                continue;
            }
            match c {
                '拾' => group += digit * 10,
                '佰' => group += digit * 100,
                '仟' => group += digit * 1000,
                '万' => {
                    wan += (group + digit) * 10_000;
                    group = 0;
                }
                '亿' | '元' => {
                    let scale = if c == '亿' { 100_000_000 } else { 100 };
                    total = (total + wan + group + digit) * scale;
                    (wan, group) = (0, 0);
                }
                '角' => fen += digit * 10,
                '分' => fen += digit,
                '整' => {}
                other => panic!("{other} in {text}"),
            }
            digit = 0;
        }
        let value = total + fen;
        if negative { -value } else { value }
    }

    #[test]
    fn writes_the_rulebooks_examples_and_ours() {
        let cases: &[(i64, &str)] = &[
            // PBOC's examples (where it allows two spellings, the first is ours).
            (1_409_50, "壹仟肆佰零玖元伍角整"),
            (6_007_14, "陆仟零柒元壹角肆分"),
            (1_680_32, "壹仟陆佰捌拾元叁角贰分"),
            (107_000_53, "壹拾万零柒仟元伍角叁分"),
            (16_409_02, "壹万陆仟肆佰零玖元零贰分"),
            (325_04, "叁佰贰拾伍元零肆分"),
            // Round figures and the city-year figures.
            (0, "零元整"),
            (10_00, "壹拾元整"),
            (100_000_00, "壹拾万元整"),
            (100_000_000_00, "壹亿元整"),
            (4_346_000_00, "肆佰叁拾肆万陆仟元整"),
            (354_000_00, "叁拾伍万肆仟元整"),
            (1_000_01, "壹仟元零壹分"),
            (10_000_000_01, "壹仟万元零壹分"),
            // Less than a yuan.
            (1, "壹分"),
            (5, "伍分"),
            (50, "伍角整"),
            (55, "伍角伍分"),
            (1_00, "壹元整"),
            (1_01, "壹元零壹分"),
            (1_10, "壹元壹角整"),
            // Tens and zeros inside a group.
            (11_00, "壹拾壹元整"),
            (110_00, "壹佰壹拾元整"),
            (101_00, "壹佰零壹元整"),
            (1_001_00, "壹仟零壹元整"),
            (1_010_00, "壹仟零壹拾元整"),
            (10_010_00, "壹万零壹拾元整"),
            (100_100_00, "壹拾万零壹佰元整"),
            (200_000_00, "贰拾万元整"),
            (1_000_000_00, "壹佰万元整"),
            (1_200_000_00, "壹佰贰拾万元整"),
            (10_000_001_00, "壹仟万零壹元整"),
            // Across 亿.
            (100_000_001_00, "壹亿零壹元整"),
            (120_000_003_00, "壹亿贰仟万零叁元整"),
            (102_000_000_00, "壹亿零贰佰万元整"),
            (1_020_000_000_00, "壹拾亿零贰仟万元整"),
            (1_000_000_000_000_00, "壹万亿元整"),
            (1_000_000_010_000_00, "壹万亿零壹万元整"),
            (
                1_234_567_890_12,
                "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元壹角贰分",
            ),
            // Negative amounts.
            (-1_00, "负壹元整"),
            (-325_04, "负叁佰贰拾伍元零肆分"),
            (-3, "负叁分"),
            // The extremes of i64 fen.
            (
                i64::MAX,
                "玖亿贰仟贰佰叁拾叁万柒仟贰佰零叁亿陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零柒分",
            ),
            (
                i64::MIN,
                "负玖亿贰仟贰佰叁拾叁万柒仟贰佰零叁亿陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零捌分",
            ),
        ];
        for &(fen, expected) in cases {
            assert_eq!(capitals(Money::from_fen(fen)), expected, "{fen} fen");
        }
        assert_eq!(rmb(Money::from_fen(6_007_14)), "人民币陆仟零柒元壹角肆分");
    }

    proptest! {
        #[test]
        fn capitals_read_back_to_the_amount_and_keep_the_rules(fen in any::<i64>()) {
            let text = capitals(Money::from_fen(fen));
            prop_assert_eq!(parse(&text), i128::from(fen), "{}", text);
            prop_assert!(!text.contains("零零"), "{}", text);
            prop_assert!(!text.ends_with('零'), "{}", text);
            prop_assert!(!text.contains("零元") || fen == 0, "{}", text);
            prop_assert!(!text.contains("零角") && !text.contains("零分"), "{}", text);
            prop_assert_eq!(text.ends_with('整'), fen % 10 == 0, "{}", text);
            prop_assert_eq!(text.starts_with('负'), fen < 0, "{}", text);
            let body = text.trim_start_matches('负');
            prop_assert!(!body.starts_with('零') || fen == 0, "{}", text);
            prop_assert!(text.chars().all(|c| "负零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整".contains(c)), "{}", text);
        }

        #[test]
        fn small_amounts_read_back(fen in -100_000_000_00i64..100_000_000_00) {
            let text = capitals(Money::from_fen(fen));
            prop_assert_eq!(parse(&text), i128::from(fen), "{}", text);
        }
    }
}
