//! The strip of dots along the calendar that a chain's timeline and a simulated timeline
//! draw (`templates/pages/strip.html`): each dot at its instant between two bounds, and a
//! mark for today when it lies between them.

use chrono::{DateTime, Utc};
use serde::Serialize;

pub const LEFT: i64 = 20;
pub const SPAN: i64 = 760;

#[derive(Debug, Serialize)]
pub struct Dot {
    pub x: i64,
    /// The CSS class (`step-…`) and the legend's entry.
    pub class: &'static str,
    pub title: String,
    pub due: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct Strip {
    pub dots: Vec<Dot>,
    pub today_x: Option<i64>,
    pub width: i64,
}

impl Strip {
    /// `points` (instant, class, title) placed between `from` and `to`; today is marked when
    /// it lies between them.
    pub fn new(
        points: impl IntoIterator<Item = (DateTime<Utc>, &'static str, String)>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        today: DateTime<Utc>,
    ) -> Strip {
        let span = (to - from).num_seconds().max(1);
        let x = |t: DateTime<Utc>| LEFT + (t - from).num_seconds().clamp(0, span) * SPAN / span;
        Strip {
            dots: points
                .into_iter()
                .map(|(due, class, title)| Dot {
                    x: x(due),
                    class,
                    title,
                    due,
                })
                .collect(),
            today_x: (from..=to).contains(&today).then(|| x(today)),
            width: LEFT * 2 + SPAN,
        }
    }
}
