//! Field rules: the unified social credit code (GB 32100-2015), mainland mobile numbers,
//! email addresses.

const CREDIT_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The check character a 17-character credit-code body must end with.
pub fn credit_code_check_char(body: &str) -> Option<char> {
    if body.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in body.bytes().zip(CREDIT_WEIGHTS) {
        let v = CREDIT_CHARSET.iter().position(|&c| c == b)? as u32;
        sum += v * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(CREDIT_CHARSET[check as usize] as char)
}

/// Checks an 18-character 统一社会信用代码, including its check character; the error says
/// what is wrong and, for a wrong check character, which one was expected.
pub fn validate_credit_code(code: &str) -> Result<(), String> {
    let n = code.chars().count();
    if n != 18 {
        return Err(format!(
            "{code:?} has {n} characters; a unified social credit code has 18"
        ));
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !CREDIT_CHARSET.contains(&(*c as u8)) || !c.is_ascii())
    {
        return Err(format!(
            "{code:?} contains {bad:?}; only digits and the letters A–Y without I, O, S, V and Z are used"
        ));
    }
    let body = &code[..17];
    let expected = credit_code_check_char(body).ok_or_else(|| format!("{code:?} is malformed"))?;
    let actual = code.as_bytes()[17] as char;
    if actual != expected {
        return Err(format!(
            "{code:?} has check character {actual:?}, but GB 32100 gives {expected:?} for {body}; check the code for a typing mistake"
        ));
    }
    Ok(())
}

/// Normalises a mainland mobile number to 11 digits: accepts `+86`, `0086`, `86` prefixes and
/// spaces or dashes between digit groups. `None` if it is not a mobile number.
pub fn normalise_mobile(input: &str) -> Option<String> {
    let digits: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect();
    let digits = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .or_else(|| {
            (digits.len() == 13)
                .then(|| digits.strip_prefix("86"))
                .flatten()
        })
        .unwrap_or(&digits);
    let b = digits.as_bytes();
    let ok = b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1]);
    ok.then(|| digits.to_string())
}

/// A pragmatic address check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.len() <= 254
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_credit_codes() {
        // Published codes of real bodies.
        for code in [
            "91350100M000100Y43",
            "91110000802100433B",
            "91440300708461136T",
        ] {
            assert_eq!(validate_credit_code(code), Ok(()), "{code}");
        }
        let err = validate_credit_code("91350100M000100Y44").unwrap_err();
        assert!(
            err.contains("'3'") && err.contains("check character"),
            "{err}"
        );
        assert!(
            validate_credit_code("91350100M000100Y4")
                .unwrap_err()
                .contains("17 characters")
        );
        assert!(
            validate_credit_code("91350100I000100Y43")
                .unwrap_err()
                .contains("'I'")
        );
    }

    #[test]
    fn mobiles() {
        assert_eq!(
            normalise_mobile("13812348000").as_deref(),
            Some("13812348000")
        );
        assert_eq!(
            normalise_mobile("+86 138-1234-8000").as_deref(),
            Some("13812348000")
        );
        assert_eq!(
            normalise_mobile("8613812348000").as_deref(),
            Some("13812348000")
        );
        for bad in [
            "1381234800",
            "12812348000",
            "138123480001",
            "0531-88888888",
            "1381234800a",
        ] {
            assert_eq!(normalise_mobile(bad), None, "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(is_valid_email("dw@jinan.gov.cn"));
        for bad in [
            "dw", "dw@", "@x.cn", "d w@x.cn", "dw@x", "dw@@x.cn", "dw@x..cn",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn a_computed_check_char_always_validates_and_any_other_fails(
            body in "[0-9A-HJ-NP-RT-UWXY]{17}", other in 0usize..31
        ) {
            let check = credit_code_check_char(&body).unwrap();
            let code = format!("{body}{check}");
            prop_assert_eq!(validate_credit_code(&code), Ok(()));
            let wrong = CREDIT_CHARSET[other] as char;
            prop_assume!(wrong != check);
            let bad = format!("{body}{wrong}");
            prop_assert!(validate_credit_code(&bad).is_err());
        }
    }
}
