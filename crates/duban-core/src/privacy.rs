//! Masking of personal data (个人信息保护法): a mobile number or an email address never
//! appears whole in a log line, a list or an export. Wrap it in [`Masked`] before logging.

use std::fmt;

/// `13812348000` → `138****8000`; anything too short to mask keeps only its first character.
pub fn mask_mobile(mobile: &str) -> String {
    let chars: Vec<char> = mobile.chars().collect();
    if chars.len() >= 7 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        mask_short(&chars)
    }
}

/// `zhang.san@example.cn` → `z***@example.cn`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => mask_short(&email.chars().collect::<Vec<_>>()),
    }
}

fn mask_short(chars: &[char]) -> String {
    match chars.first() {
        Some(c) => format!("{c}***"),
        None => String::new(),
    }
}

/// A contact detail that prints masked: `tracing::info!(to = %Masked(&mobile))`.
#[derive(Clone, Copy)]
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains('@') {
            f.write_str(&mask_email(self.0))
        } else {
            f.write_str(&mask_mobile(self.0))
        }
    }
}

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_mobiles_and_emails() {
        assert_eq!(mask_mobile("13812348000"), "138****8000");
        assert_eq!(mask_email("zhang.san@example.cn"), "z***@example.cn");
        assert_eq!(Masked("13812348000").to_string(), "138****8000");
        assert_eq!(format!("{:?}", Masked("a@b.cn")), "a***@b.cn");
        assert_eq!(mask_mobile("12"), "1***");
        assert_eq!(mask_mobile(""), "");
    }
}
