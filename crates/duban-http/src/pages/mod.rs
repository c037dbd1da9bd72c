//! The pages people use in a browser: sign-in, the administrator's dashboard, the register
//! and a unit's page, the finance officer's budget, allocations and a unit's fund ledger,
//! changing one's password. Server-rendered (minijinja, templates built
//! into the binary), no script, CSS for Chromium 90 served from the binary under a
//! content-hashed name. Simplified Chinese by default, English by choice (`duban_lang`).
//!
//! Like the API, the pages only parse, call one use case of `duban-app` with the signed-in
//! actor and present its answer: authorisation, scope, filtering, sorting and paging live in
//! the use cases. The session is the API's (`duban_session`).

mod account;
mod bank;
mod bank_profiles;
mod bases;
mod calendar;
mod chains;
mod dashboard;
mod finance;
pub(crate) mod i18n;
mod import;
mod items;
mod reports;
mod strip;
mod tasks;
mod units;
mod users;
mod workflows;

use crate::AppState;
use crate::auth::{SESSION_COOKIE, cookie, origin_of};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use duban_app::{Actor, AppError, Permission};
use i18n::{LANG_COOKIE, Lang};
use minijinja::{Environment, Value, context};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::sync::OnceLock;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", get(dashboard::show))
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route(
            "/password",
            get(account::password_form).post(account::change_password),
        )
        .route("/lang", post(account::set_lang))
        .route("/units", get(units::list))
        .route("/units.xlsx", get(units::export))
        .route("/units.csv", get(units::export))
        .route("/units/{code}", get(units::card))
        .route("/units/{code}/funds", get(finance::unit_funds))
        .route("/units/{code}/funds.xlsx", get(finance::unit_funds_export))
        .route("/units/{code}/funds.csv", get(finance::unit_funds_export))
        .route("/budget", get(finance::budget))
        .route(
            "/reports/bank-reconciliation",
            get(reports::bank_reconciliation),
        )
        .route("/bank", get(bank::accounts).post(bank::add_account))
        .route(
            "/bank/{code}/import",
            get(bank::import_form)
                .post(bank::import_preview)
                .layer(axum::extract::DefaultBodyLimit::max(24 << 20)),
        )
        .route(
            "/bank/{code}/import/confirm",
            post(bank::import_confirm).layer(axum::extract::DefaultBodyLimit::max(24 << 20)),
        )
        .route("/bank/{code}/lines", get(bank::lines))
        .route("/bank/{code}/lines.xlsx", get(bank::lines_export))
        .route("/bank/{code}/lines.csv", get(bank::lines_export))
        .route(
            "/bank/{code}/match",
            get(bank::matching).post(bank::run_match),
        )
        .route("/bank/{code}/manual", post(bank::manual_match))
        .route("/bank/{code}/matches/{id}/unmatch", post(bank::unmatch))
        .route("/three-way", get(bank::three_way))
        .route("/three-way.xlsx", get(bank::three_way_export))
        .route("/three-way.csv", get(bank::three_way_export))
        .route("/budget.xlsx", get(finance::budget_export))
        .route("/budget.csv", get(finance::budget_export))
        .route(
            "/allocations",
            get(finance::allocations).post(finance::allocate),
        )
        .route("/allocations.xlsx", get(finance::allocations_export))
        .route("/allocations.csv", get(finance::allocations_export))
        .route("/allocations/new", get(finance::allocation_form))
        .route(
            "/allocations/{id}/disburse",
            get(finance::disbursement_form).post(finance::disburse),
        )
        .route(
            "/bank/profiles",
            get(bank_profiles::index)
                .post(bank_profiles::save)
                .layer(axum::extract::DefaultBodyLimit::max(24 << 20)),
        )
        .route(
            "/bank/profiles/map",
            post(bank_profiles::map).layer(axum::extract::DefaultBodyLimit::max(24 << 20)),
        )
        .route("/bank/profiles/{name}/delete", post(bank_profiles::remove))
        .route("/chains", get(chains::list))
        .route("/chains/{id}", get(chains::timeline))
        .route("/deliveries", get(chains::deliveries))
        .route("/deliveries.xlsx", get(chains::deliveries_xlsx))
        .route("/deliveries.csv", get(chains::deliveries_csv))
        .route("/deliveries/dead", get(chains::dead))
        .route("/deliveries/{id}/resend", post(chains::resend))
        .route(
            "/register/import",
            get(import::form)
                .post(import::preview)
                .layer(axum::extract::DefaultBodyLimit::max(24 << 20)),
        )
        .route(
            "/register/import/confirm",
            post(import::confirm).layer(axum::extract::DefaultBodyLimit::max(24 << 20)),
        )
        .route("/users", get(users::index).post(users::create))
        .route("/users/{name}/access", post(users::access))
        .route("/users/{name}/password", post(users::password))
        .route("/calendar", get(calendar::year))
        .route("/workflows", get(workflows::index))
        .route("/workflows/{id}/simulate", get(workflows::simulate))
        .route(
            "/workflows/check",
            post(workflows::check).layer(axum::extract::DefaultBodyLimit::max(4 << 20)),
        )
        .route("/items", get(items::list))
        .route("/items/{id}/close", post(items::close))
        .route("/interviews", get(items::interviews))
        .route("/interviews/{id}/{action}", post(items::interview_action))
        .route("/bases", get(bases::list))
        .route("/bases/{code}", get(bases::week))
        .route("/bases/{code}/book", post(bases::book))
        .route("/bookings", get(bases::bookings))
        .route("/bookings.xlsx", get(bases::bookings_export))
        .route("/bookings.csv", get(bases::bookings_export))
        .route("/bookings/{id}/cancel", post(bases::cancel))
        .route("/my", get(tasks::list))
        .route("/my/{instance}", post(tasks::answer))
        .route("/static/{name}", get(asset))
}

const TEMPLATES: &[(&str, &str)] = &[
    (
        "pages/base.html",
        include_str!("../../templates/pages/base.html"),
    ),
    (
        "pages/bases.html",
        include_str!("../../templates/pages/bases.html"),
    ),
    (
        "pages/base_week.html",
        include_str!("../../templates/pages/base_week.html"),
    ),
    (
        "pages/bookings.html",
        include_str!("../../templates/pages/bookings.html"),
    ),
    (
        "pages/lang.html",
        include_str!("../../templates/pages/lang.html"),
    ),
    (
        "pages/error.html",
        include_str!("../../templates/pages/error.html"),
    ),
    (
        "pages/login.html",
        include_str!("../../templates/pages/login.html"),
    ),
    (
        "pages/chains.html",
        include_str!("../../templates/pages/chains.html"),
    ),
    (
        "pages/strip.html",
        include_str!("../../templates/pages/strip.html"),
    ),
    (
        "pages/simulate.html",
        include_str!("../../templates/pages/simulate.html"),
    ),
    (
        "pages/chain.html",
        include_str!("../../templates/pages/chain.html"),
    ),
    (
        "pages/deliveries.html",
        include_str!("../../templates/pages/deliveries.html"),
    ),
    (
        "pages/dead.html",
        include_str!("../../templates/pages/dead.html"),
    ),
    (
        "pages/pager.html",
        include_str!("../../templates/pages/pager.html"),
    ),
    (
        "pages/bank_profiles.html",
        include_str!("../../templates/pages/bank_profiles.html"),
    ),
    (
        "pages/import.html",
        include_str!("../../templates/pages/import.html"),
    ),
    (
        "pages/users.html",
        include_str!("../../templates/pages/users.html"),
    ),
    (
        "pages/calendar.html",
        include_str!("../../templates/pages/calendar.html"),
    ),
    (
        "pages/workflows.html",
        include_str!("../../templates/pages/workflows.html"),
    ),
    (
        "pages/items.html",
        include_str!("../../templates/pages/items.html"),
    ),
    (
        "pages/interviews.html",
        include_str!("../../templates/pages/interviews.html"),
    ),
    (
        "pages/filters.html",
        include_str!("../../templates/pages/filters.html"),
    ),
    (
        "pages/tasks.html",
        include_str!("../../templates/pages/tasks.html"),
    ),
    (
        "pages/password.html",
        include_str!("../../templates/pages/password.html"),
    ),
    (
        "pages/units.html",
        include_str!("../../templates/pages/units.html"),
    ),
    (
        "pages/unit.html",
        include_str!("../../templates/pages/unit.html"),
    ),
    (
        "pages/dashboard.html",
        include_str!("../../templates/pages/dashboard.html"),
    ),
    (
        "pages/budget.html",
        include_str!("../../templates/pages/budget.html"),
    ),
    (
        "pages/allocation_new.html",
        include_str!("../../templates/pages/allocation_new.html"),
    ),
    (
        "pages/allocations.html",
        include_str!("../../templates/pages/allocations.html"),
    ),
    (
        "pages/disburse.html",
        include_str!("../../templates/pages/disburse.html"),
    ),
    (
        "pages/unit_funds.html",
        include_str!("../../templates/pages/unit_funds.html"),
    ),
    (
        "pages/bank_reconciliation.html",
        include_str!("../../templates/pages/bank_reconciliation.html"),
    ),
    (
        "pages/bank_accounts.html",
        include_str!("../../templates/pages/bank_accounts.html"),
    ),
    (
        "pages/bank_import.html",
        include_str!("../../templates/pages/bank_import.html"),
    ),
    (
        "pages/bank_lines.html",
        include_str!("../../templates/pages/bank_lines.html"),
    ),
    (
        "pages/bank_match.html",
        include_str!("../../templates/pages/bank_match.html"),
    ),
    (
        "pages/three_way.html",
        include_str!("../../templates/pages/three_way.html"),
    ),
];

/// The templates, parsed once (the router builds this at startup, so a broken template
/// stops the server from starting rather than failing a request).
pub(crate) fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("the page template {name} does not parse: {e}"));
        }
        env.add_function("t", i18n::t);
        env.add_function("status", i18n::status);
        env.add_filter("day", i18n::day);
        env.add_filter("datetime", i18n::datetime);
        env.add_filter("amount", i18n::amount);
        env.add_filter("capitals", i18n::capitals);
        env
    })
}

const CSS: &str = include_str!("../../static/app.css");

/// `/static/app.<hash>.css`: the stylesheet under a name that changes with its content, so
/// browsers may keep it for a year.
pub(crate) fn css_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        use sha2::Digest;
        let hash = hex::encode(sha2::Sha256::digest(CSS.as_bytes()));
        format!("/static/app.{}.css", &hash[..12])
    })
}

async fn asset(Path(name): Path<String>) -> Response {
    if format!("/static/{name}") != css_path() {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        CSS,
    )
        .into_response()
}

/// The page language of a request.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_cookie(cookie(headers, LANG_COOKIE))
}

/// A request's path and query, for coming back to it.
fn here_of(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

/// What stays as it is in a URL component and in an RFC 5987 file name: letters, digits
/// and `-._~`.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` as one component of a URL (or an RFC 5987 value).
pub(crate) fn encode(text: &str) -> String {
    utf8_percent_encode(text, ESCAPED).to_string()
}

/// A parameter as typed, trimmed; none when empty.
pub(crate) fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The page a `page` parameter asks for: 1 when absent or not a number (the use case
/// clamps the rest).
pub(crate) fn page_of(v: &Option<String>) -> u64 {
    given(v).and_then(|p| p.parse().ok()).unwrap_or(1)
}

/// A column heading of a sortable list: `sort` is the order it stands for (none: not
/// sortable); `current` and `descending` say how the list is sorted now; `href` gives the
/// address of the list in an order, ascending or not.
pub(crate) fn sort_column(
    label: &str,
    sort: Option<&str>,
    current: &str,
    descending: bool,
    href: impl Fn(&str, bool) -> String,
) -> Value {
    let Some(sort) = sort else {
        return context! { label };
    };
    let is_current = sort == current;
    let aria_sort = is_current.then_some(if descending {
        "descending"
    } else {
        "ascending"
    });
    let href = href(sort, is_current && !descending);
    context! { label, href, aria_sort }
}

/// The rows a use case answered as a download ([`download`]) of the table `sheet` makes of
/// them; its refusal as a page.
pub(crate) fn download_of<T>(
    viewer: &Viewer,
    today: chrono::NaiveDate,
    ascii: &str,
    rows: Result<T, AppError>,
    sheet: impl FnOnce(&T) -> duban_tabular::export::Sheet,
) -> Response {
    match rows {
        Ok(rows) => download(viewer, &sheet(&rows), viewer.export_ext(), ascii, today),
        Err(e) => viewer.error(&e),
    }
}

/// Who is asking, in which language, from which page.
pub(crate) struct Viewer {
    pub actor: Actor,
    pub lang: Lang,
    pub here: String,
}

impl FromRequestParts<AppState> for Viewer {
    /// Not signed in: to the sign-in page, and back here afterwards.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = lang_of(&parts.headers);
        let here = here_of(parts);
        let signed_out = || Redirect::to(&format!("/login?next={}", encode(&here))).into_response();
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(signed_out());
        };
        match state.app.session_actor(secret, &origin_of(parts)).await {
            Ok(actor) if actor.password_expired && parts.uri.path() != "/password" => {
                Err(Redirect::to("/password").into_response())
            }
            Ok(actor) => Ok(Viewer { actor, lang, here }),
            Err(AppError::Unauthenticated(_)) => Err(signed_out()),
            Err(e) => Err(error_page(lang, None, &here, &e)),
        }
    }
}

/// A link of the navigation, shown to those whose role may use it.
struct NavItem {
    href: &'static str,
    label: &'static str,
    allowed: fn(&Actor) -> bool,
}

const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: "nav.dashboard",
        allowed: |a| a.role.may(Permission::ManageDeliveries),
    },
    NavItem {
        href: "/my",
        label: "nav.tasks",
        // The secretaries': administrators answer from the register and the chains.
        allowed: |a| a.role.may(Permission::Answer) && !a.role.may(Permission::WriteRegister),
    },
    NavItem {
        href: "/units",
        label: "nav.units",
        allowed: |a| a.role.may(Permission::ReadRegister),
    },
    NavItem {
        href: "/bases",
        label: "nav.bases",
        allowed: |a| a.role.may(Permission::ReadRegister) && !a.role.may(Permission::WriteLedger),
    },
    NavItem {
        href: "/budget",
        label: "fin.nav.budget",
        allowed: |a| a.role.may(Permission::ReadLedger),
    },
    NavItem {
        href: "/allocations",
        label: "fin.nav.allocations",
        allowed: |a| a.role.may(Permission::ReadLedger),
    },
    NavItem {
        href: "/bank",
        label: "bank.nav.accounts",
        allowed: |a| a.role.may(Permission::ReadLedger),
    },
    NavItem {
        href: "/three-way",
        label: "bank.nav.three_way",
        allowed: |a| a.role.may(Permission::ReadLedger),
    },
    NavItem {
        href: "/reports/bank-reconciliation",
        label: "fin.nav.reconciliation",
        allowed: |a| a.role.may(Permission::ReadLedger),
    },
    NavItem {
        href: "/bank/profiles",
        label: "profiles.nav",
        allowed: |a| a.role.may(Permission::WriteBankProfiles),
    },
    NavItem {
        href: "/items",
        label: "nav.items",
        allowed: |a| {
            a.role.may(Permission::ReadChains)
                && (a.role.may(Permission::ManageDeliveries) || !a.role.may(Permission::Answer))
        },
    },
    NavItem {
        href: "/interviews",
        label: "nav.interviews",
        allowed: |a| {
            a.role.may(Permission::ReadChains)
                && (a.role.may(Permission::ManageDeliveries) || !a.role.may(Permission::Answer))
        },
    },
    NavItem {
        href: "/chains",
        label: "nav.chains",
        // Secretaries see their units' chains on `/my`.
        allowed: |a| {
            a.role.may(Permission::ReadChains)
                && (a.role.may(Permission::ManageDeliveries) || !a.role.may(Permission::Answer))
        },
    },
    NavItem {
        href: "/deliveries",
        label: "nav.deliveries",
        allowed: |a| a.role.may(Permission::ManageDeliveries),
    },
    NavItem {
        href: "/workflows",
        label: "nav.workflows",
        allowed: |a| a.role.may(Permission::ManageWorkflows),
    },
    NavItem {
        href: "/calendar",
        label: "nav.calendar",
        allowed: |a| a.role.may(Permission::ManageWorkflows),
    },
    NavItem {
        href: "/users",
        label: "nav.users",
        allowed: |a| a.role.may(Permission::ManageUsers),
    },
    NavItem {
        href: "/password",
        label: "nav.password",
        allowed: |_| true,
    },
];

/// Where a signed-in user starts: those who book the ledger (the finance officer) on the
/// budget, everyone else on the first page of the navigation their role may use.
pub(crate) fn home_of(actor: &Actor) -> &'static str {
    if actor.role.may(Permission::WriteLedger) && !actor.role.may(Permission::ManageDeliveries) {
        return "/budget";
    }
    NAV.iter()
        .find(|n| (n.allowed)(actor))
        .map(|n| n.href)
        .unwrap_or("/password")
}

/// `path` with `params` as its query, empty values left out.
pub(crate) fn href<T: serde::Serialize>(path: &str, params: &T) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::to_string(params)
        .ok()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(&q).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// The first, previous, next and last links of a list at `page` of `pages`; `at` makes the
/// address of a page. Links that would lead nowhere are shown without an address.
pub(crate) fn pager(page: u64, pages: u64, at: impl Fn(u64) -> String) -> Vec<Value> {
    let link = |to: u64, label: &str, enabled: bool| {
        let href = enabled.then(|| at(to));
        context! { label, href }
    };
    vec![
        link(1, "pager.first", page > 1),
        link(page.saturating_sub(1), "pager.prev", page > 1),
        link(page + 1, "pager.next", page < pages),
        link(pages, "pager.last", page < pages),
    ]
}

/// `attachment` with the file's name in UTF-8 (RFC 5987) and an ASCII fallback.
pub(crate) fn attachment(name: &str, ascii: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        encode(name)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A table as the file a reader asked for — `csv` (UTF-8 with a BOM) or `xlsx` — named
/// `{sheet name}_{today}.{ext}` (and `{stem}_{today}.{ext}` for clients without UTF-8 names).
pub(crate) fn download(
    viewer: &Viewer,
    sheet: &duban_tabular::export::Sheet,
    ext: &str,
    stem: &str,
    today: chrono::NaiveDate,
) -> Response {
    let (bytes, content_type) = if ext == "csv" {
        (
            duban_tabular::export::to_csv(sheet),
            "text/csv; charset=utf-8",
        )
    } else {
        match duban_tabular::export::to_xlsx(sheet) {
            Ok(b) => (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            Err(e) => {
                return viewer.error(&AppError::Internal(format!("writing the workbook: {e}")));
            }
        }
    };
    let mut r = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        attachment(
            &format!("{}_{today}.{ext}", sheet.name),
            &format!("{stem}_{today}.{ext}"),
        ),
    );
    r
}

/// Renders a page of the layout with `title` (a catalogue key) and the page's own context.
pub(crate) fn render(
    status: StatusCode,
    template: &str,
    lang: Lang,
    actor: Option<&Actor>,
    here: &str,
    title: &str,
    page: Value,
) -> Response {
    let path = here.split('?').next().unwrap_or("/");
    let nav: Vec<Value> = actor
        .map(|a| {
            NAV.iter()
                .filter(|n| (n.allowed)(a))
                .map(|n| {
                    let current = n.href == path || (n.href != "/" && path.starts_with(n.href));
                    context! { href => n.href, label => n.label, current }
                })
                .collect()
        })
        .unwrap_or_default();
    let user = actor.map(|a| context! { name => a.name.clone(), role => a.role.as_str() });
    let ctx = context! {
        lang => lang.code(),
        html_lang => lang.html(),
        css => css_path(),
        here,
        user,
        nav,
        title,
        ..page
    };
    match env().get_template(template).and_then(|t| t.render(ctx)) {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, template, "rendering a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(lang.text("error.internal").to_string()),
            )
                .into_response()
        }
    }
}

/// The page for a use case's refusal or failure, in the reader's language.
pub(crate) fn error_page(lang: Lang, actor: Option<&Actor>, here: &str, e: &AppError) -> Response {
    let (status, title, fallback) = match e {
        AppError::Unauthenticated(_) => {
            return Redirect::to(&format!("/login?next={}", encode(here))).into_response();
        }
        AppError::Forbidden(_) => (
            StatusCode::FORBIDDEN,
            "error.forbidden_title",
            "error.forbidden",
        ),
        AppError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            "error.not_found_title",
            "error.not_found",
        ),
        AppError::Invalid { .. } | AppError::Rows(_) | AppError::Refused(_) => (
            StatusCode::BAD_REQUEST,
            "error.invalid_title",
            "error.bad_request",
        ),
        AppError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "error.unavailable_title",
            "error.unavailable",
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "error.internal_title",
            "error.internal",
        ),
    };
    if status.is_server_error() {
        tracing::warn!(error = %e, "a page could not be shown");
    }
    // Refusals of scope and role name the user in English; the page says it plainly.
    let message = match e {
        AppError::Invalid { message, .. } | AppError::Refused(message) => {
            lang.pick(message, lang.text(fallback)).to_string()
        }
        _ => lang.text(fallback).to_string(),
    };
    render(
        status,
        "pages/error.html",
        lang,
        actor,
        here,
        lang.text(title),
        context! { message },
    )
}

impl Viewer {
    /// Renders a page for this viewer under the heading `title`.
    pub(crate) fn page(&self, template: &str, title: &str, page: Value) -> Response {
        render(
            StatusCode::OK,
            template,
            self.lang,
            Some(&self.actor),
            &self.here,
            title,
            page,
        )
    }

    /// The format of an export this request asks for, by the end of its path: `csv` for
    /// `….csv`, else `xlsx`.
    pub(crate) fn export_ext(&self) -> &'static str {
        let path = self.here.split('?').next().unwrap_or_default();
        if path.ends_with(".csv") {
            "csv"
        } else {
            "xlsx"
        }
    }

    /// The page for a refusal or failure.
    pub(crate) fn error(&self, e: &AppError) -> Response {
        error_page(self.lang, Some(&self.actor), &self.here, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_the_css_has_a_stable_name() {
        let env = env();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
        assert!(css_path().starts_with("/static/app.") && css_path().ends_with(".css"));
        assert_eq!(css_path(), css_path());
    }

    #[test]
    fn the_css_uses_nothing_chromium_90_lacks() {
        // Without its comments, which may name what it avoids.
        let rules: String = CSS
            .split("/*")
            .map(|part| part.split_once("*/").map_or(part, |(_, after)| after))
            .collect();
        for bad in [":has(", "@container", "color-mix(", "&:", "& ", "inset:"] {
            assert!(!rules.contains(bad), "the stylesheet uses {bad}");
        }
        assert!(CSS.contains("size: A4 landscape"));
    }
}
