//! The administrator's dashboard at `/`; everyone else starts on the first page their role
//! may use.

use super::{Viewer, encode, home_of};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use duban_app::Permission;
use duban_app::dashboard::{DistrictOverdue, NO_DISTRICT};
use minijinja::{Value, context};
use serde::Serialize;

/// Geometry of the overdue-by-district chart, in SVG user units.
const LABEL_WIDTH: u64 = 120;
const BAR_SPACE: u64 = 460;
const ROW: u64 = 28;

#[derive(Debug, Serialize, PartialEq, Eq)]
struct Bar {
    district: String,
    /// The district's overdue units; none for units with no district.
    href: Option<String>,
    y: u64,
    terms: u64,
    items: u64,
    terms_w: u64,
    items_w: u64,
}

#[derive(Debug, Serialize)]
struct Chart {
    width: u64,
    height: u64,
    label_width: u64,
    bars: Vec<Bar>,
}

/// A stacked bar per district, scaled to the largest total; a non-zero count is at least
/// 2 units wide, so it can be seen.
fn chart(overdue: &[DistrictOverdue]) -> Chart {
    let max = overdue
        .iter()
        .map(|o| o.terms + o.items)
        .max()
        .unwrap_or(0)
        .max(1);
    let width = |n: u64| {
        if n == 0 {
            0
        } else {
            (n * BAR_SPACE / max).max(2)
        }
    };
    let bars = overdue
        .iter()
        .enumerate()
        .map(|(i, o)| Bar {
            district: o.district.clone(),
            href: (o.district != NO_DISTRICT)
                .then(|| format!("/units?district={}&overdue=1", encode(&o.district))),
            y: 4 + i as u64 * ROW,
            terms: o.terms,
            items: o.items,
            terms_w: width(o.terms),
            items_w: width(o.items),
        })
        .collect::<Vec<_>>();
    Chart {
        width: LABEL_WIDTH + BAR_SPACE + 80,
        height: 8 + bars.len() as u64 * ROW,
        label_width: LABEL_WIDTH,
        bars,
    }
}

pub async fn show(State(state): State<AppState>, viewer: Viewer) -> Response {
    if !viewer.actor.role.may(Permission::ManageDeliveries) {
        return Redirect::to(home_of(&viewer.actor)).into_response();
    }
    match state.app.dashboard(&viewer.actor).await {
        Ok(d) => viewer.page(
            "pages/dashboard.html",
            viewer.lang.text("dash.title"),
            context! {
                chart => Value::from(minijinja::value::Serde(chart(&d.overdue))),
                d => Value::from(minijinja::value::Serde(&d)),
                no_district => NO_DISTRICT,
            },
        ),
        Err(e) => viewer.error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_district() {
        let o = |d: &str, terms, items| DistrictOverdue {
            district: d.into(),
            terms,
            items,
        };
        let c = chart(&[o("历下区", 30, 10), o("市中区", 1, 0), o(NO_DISTRICT, 1, 0)]);
        assert_eq!(c.bars[0].terms_w + c.bars[0].items_w, BAR_SPACE);
        assert_eq!((c.bars[1].terms_w, c.bars[1].items_w), (11, 0));
        assert_eq!(
            c.bars[0].href.as_deref(),
            Some("/units?district=%E5%8E%86%E4%B8%8B%E5%8C%BA&overdue=1")
        );
        assert_eq!(c.bars[2].href, None);
        assert_eq!(c.height, 8 + 3 * ROW);
        assert!(chart(&[]).bars.is_empty());
    }
}
