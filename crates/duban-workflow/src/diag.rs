//! Diagnostics: every problem found in a workflow, template or calendar file, with the place
//! (file:line:column) and a hint that says how to fix it.

use duban_core::text::display_width as width;
use serde::Serialize;
use std::fmt;
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One located finding. Lines and columns are 1-based; columns count characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable kebab-case name for tools, e.g. `unknown-key`.
    pub code: &'static str,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The source line the finding points at, for display.
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A source text with a name, able to turn byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

impl<'a> Source<'a> {
    pub fn new(name: &'a str, text: &'a str) -> Self {
        Source { name, text }
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let offset = (0..=offset)
            .rev()
            .find(|&i| self.text.is_char_boundary(i))
            .unwrap_or(0);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }

    fn line_text(&self, line: usize) -> Option<String> {
        self.text
            .lines()
            .nth(line.saturating_sub(1))
            .map(|l| l.trim_end_matches('\r').to_string())
    }

    /// A diagnostic covering `span` (byte offsets).
    pub fn diag(
        &self,
        severity: Severity,
        code: &'static str,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        let (line, column) = self.position(span.start);
        let (mut end_line, mut end_column) = self.position(span.end.max(span.start));
        if end_line != line {
            // Show only the first line of a multi-line span.
            end_line = line;
            end_column = self
                .line_text(line)
                .map(|l| l.chars().count() + 1)
                .unwrap_or(column);
        }
        if end_column <= column {
            end_column = column + 1;
        }
        Diagnostic {
            severity,
            code,
            file: self.name.to_string(),
            line,
            column,
            end_line,
            end_column,
            message: message.into(),
            help,
            source_line: self.line_text(line),
        }
    }

    pub fn error(
        &self,
        code: &'static str,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        self.diag(Severity::Error, code, span, message, Some(help.into()))
    }

    pub fn warning(
        &self,
        code: &'static str,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        self.diag(Severity::Warning, code, span, message, Some(help.into()))
    }
}

/// A diagnostic about a whole file (no better place to point at): line 1, column 1.
pub fn file_diag(
    severity: Severity,
    code: &'static str,
    file: &str,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        severity,
        code,
        file: file.to_string(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 2,
        message: message.into(),
        help: Some(help.into()),
        source_line: None,
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: error[code]: message`, the source line with a caret, and the help.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(
            f,
            "{}:{}:{}: {sev}[{}]: {}",
            self.file, self.line, self.column, self.code, self.message
        )?;
        if let Some(src) = &self.source_line {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            let prefix: String = src.chars().take(self.column - 1).collect();
            let marked: String = src
                .chars()
                .skip(self.column - 1)
                .take(self.end_column.saturating_sub(self.column).max(1))
                .collect();
            let carets = "^".repeat(width(&marked).max(1));
            writeln!(f, "{pad} |")?;
            writeln!(f, "{num} | {src}")?;
            writeln!(f, "{pad} | {}{carets}", " ".repeat(width(&prefix)))?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

/// The closest of `candidates` to `word` (edit distance at most a third of its length, min 2).
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Renders a list of diagnostics as text, followed by a summary line.
pub fn render_text(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.to_string());
        out.push('\n');
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    out.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let s = Source::new("f", "a = 1\n名 = \"x\"\n");
        assert_eq!(s.position(0), (1, 1));
        assert_eq!(s.position(6), (2, 1));
        // after "名 " (3 bytes + 1)
        assert_eq!(s.position(10), (2, 3));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("ofset", ["offset", "time", "id"]),
            Some("offset")
        );
        assert_eq!(did_you_mean("zzz", ["offset", "time"]), None);
    }

    #[test]
    fn caret_under_cjk() {
        let s = Source::new("f.toml", "title = \"换届\" x\n");
        let d = s.error("x", 17..18, "bad", "fix");
        let text = d.to_string();
        assert!(text.contains("1 | title = \"换届\" x"), "{text}");
        // `title = "` is 9 cells, 换届 4 cells, `" ` 2 cells.
        assert!(text.contains(&format!("  | {}^", " ".repeat(15))), "{text}");
    }
}
