//! Errors as RFC 9457 problem details (`application/problem+json`), naming the place: a
//! JSON pointer into the request body, or the row and column of an uploaded file.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use duban_app::AppError;
use serde::Serialize;

/// A problem in the request or with carrying it out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:duban:problem:<kind>`).
    #[serde(rename = "type", serialize_with = "as_urn")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Where in the JSON body: `/allocations/0/amount`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Every bad cell of an uploaded file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<CellProblem>,
}

/// One bad cell of an uploaded file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CellProblem {
    /// 1-based row in the file; 1 is the header row.
    pub row: usize,
    pub column: String,
    pub reason: String,
}

fn as_urn<S: serde::Serializer>(kind: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("urn:duban:problem:{kind}"))
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            kind,
            title: status.canonical_reason().unwrap_or("error"),
            status: status.as_u16(),
            detail: detail.into(),
            pointer: None,
            errors: vec![],
        }
    }

    pub fn at(mut self, pointer: impl Into<String>) -> Problem {
        self.pointer = Some(pointer.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        use StatusCode as S;
        match e {
            AppError::Unauthenticated(m) => Problem::new(S::UNAUTHORIZED, "unauthenticated", m),
            AppError::Forbidden(m) => Problem::new(S::FORBIDDEN, "forbidden", m),
            AppError::NotFound(m) => Problem::new(S::NOT_FOUND, "not-found", m),
            AppError::Invalid { message, pointer } => {
                let p = Problem::new(S::UNPROCESSABLE_ENTITY, "invalid", message);
                match pointer {
                    Some(ptr) => p.at(ptr),
                    None => p,
                }
            }
            e @ AppError::Rows(_) => {
                let detail = e.to_string();
                let AppError::Rows(rows) = e else {
                    unreachable!()
                };
                let mut p = Problem::new(S::UNPROCESSABLE_ENTITY, "invalid-file", detail);
                p.errors = rows
                    .into_iter()
                    .map(|r| CellProblem {
                        row: r.row,
                        column: r.column,
                        reason: r.reason,
                    })
                    .collect();
                p
            }
            AppError::Refused(m) => Problem::new(S::CONFLICT, "refused", m),
            AppError::Ledger { error, index } => {
                let p = Problem::new(S::CONFLICT, "ledger-refused", error.to_string());
                match index {
                    Some(i) => p.at(format!("/{i}")),
                    None => p,
                }
            }
            AppError::Conflict(m) => {
                Problem::new(S::UNPROCESSABLE_ENTITY, "idempotency-key-reused", m)
            }
            AppError::Unavailable(m) => Problem::new(S::SERVICE_UNAVAILABLE, "unavailable", m),
            AppError::Internal(m) => {
                tracing::error!(error = %m, "request failed");
                Problem::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an internal error occurred; it has been logged",
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        r
    }
}

/// Reads a JSON body, naming the place of the first error as a JSON pointer.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut pointer = pointer_of(e.path());
        let inner = e.into_inner();
        if pointer.is_empty() && !inner.is_syntax() && !inner.is_eof() {
            pointer = culprit::<T>(body).unwrap_or_default();
        }
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("the request body is not valid: {inner}"),
        )
        .at(pointer)
    })
}

/// The member of a JSON object that a deserializer rejected without saying where (serde
/// buffers internally tagged enums and forgets the path): the one whose removal leaves only
/// its own absence to complain about.
fn culprit<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<String> {
    let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let fails_alone = |k: &String| {
        let mut without = map.clone();
        without.remove(k);
        match serde_json::from_value::<T>(serde_json::Value::Object(without)) {
            Ok(_) => true,
            Err(e) => e.to_string().contains(&format!("missing field `{k}`")),
        }
    };
    // The enum's tag also complains only of its own absence; it is the one whose value
    // names a variant.
    let is_tag = |k: &String| {
        let mut other = map.clone();
        other.insert(k.clone(), serde_json::Value::String("\u{1}".into()));
        serde_json::from_value::<T>(serde_json::Value::Object(other))
            .is_err_and(|e| e.to_string().contains("unknown variant"))
    };
    map.keys()
        .find(|k| fails_alone(k) && !is_tag(k))
        .map(|k| format!("/{k}"))
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { variant } => {
                out.push('/');
                out.push_str(variant);
            }
            Segment::Unknown => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        allocations: Vec<Line>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Line {
        amount: u32,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(tag = "kind")]
    #[allow(dead_code)]
    enum Tagged {
        Held { unit: String, on: chrono::NaiveDate },
    }

    #[test]
    fn a_bad_field_of_a_tagged_enum_is_found() {
        let e =
            parse_json::<Tagged>(br#"{"kind":"Held","unit":"U","on":"2026-13-01"}"#).unwrap_err();
        assert_eq!(e.pointer.as_deref(), Some("/on"));
        let e = parse_json::<Tagged>(br#"{"kind":"Held","unit":"U"}"#).unwrap_err();
        assert!(e.detail.contains("missing field `on`"), "{}", e.detail);
    }

    #[test]
    fn a_bad_field_is_named_by_its_json_pointer() {
        let e =
            parse_json::<Body>(br#"{"allocations":[{"amount":1},{"amount":"x"}]}"#).unwrap_err();
        assert_eq!(e.pointer.as_deref(), Some("/allocations/1/amount"));
        assert_eq!(e.status, 422);
    }
}
