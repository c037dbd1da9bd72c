//! The two coverages (两个覆盖), per district and in total:
//! - organisational coverage: of the organisations that have party members, the share
//!   covered by a party unit;
//! - work coverage: of the organisations without party members, the share reached by party
//!   work, i.e. with a party-building instructor (党建指导员) or covered by a unit.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::BTreeMap;

/// What coverage needs to know about one organisation.
#[derive(Debug, Clone)]
pub struct CoverageInput {
    pub district: String,
    pub party_members: u32,
    pub has_unit: bool,
    pub has_instructor: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageRow {
    pub district: String,
    pub organisations: u64,
    pub with_members: u64,
    pub with_members_covered: u64,
    /// Percentage with two decimals, half away from zero; `None` when there is nothing to cover.
    #[serde(with = "opt_pct")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "97.50"))]
    pub organisational_coverage: Option<Decimal>,
    pub without_members: u64,
    pub without_members_reached: u64,
    #[serde(with = "opt_pct")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "100.00"))]
    pub work_coverage: Option<Decimal>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageReport {
    pub districts: Vec<CoverageRow>,
    pub total: CoverageRow,
}

pub fn coverage(orgs: impl IntoIterator<Item = CoverageInput>) -> CoverageReport {
    let mut by_district: BTreeMap<String, CoverageRow> = BTreeMap::new();
    let mut total = CoverageRow {
        district: "合计".into(),
        ..Default::default()
    };
    for o in orgs {
        let row = by_district
            .entry(o.district.clone())
            .or_insert_with(|| CoverageRow {
                district: o.district.clone(),
                ..Default::default()
            });
        for r in [&mut *row, &mut total] {
            r.organisations += 1;
            if o.party_members > 0 {
                r.with_members += 1;
                r.with_members_covered += u64::from(o.has_unit);
            } else {
                r.without_members += 1;
                r.without_members_reached += u64::from(o.has_unit || o.has_instructor);
            }
        }
    }
    let finish = |mut r: CoverageRow| {
        r.organisational_coverage = percent(r.with_members_covered, r.with_members);
        r.work_coverage = percent(r.without_members_reached, r.without_members);
        r
    };
    CoverageReport {
        districts: by_district.into_values().map(finish).collect(),
        total: finish(total),
    }
}

/// `part / whole` as a percentage with two decimals, half away from zero.
pub fn percent(part: u64, whole: u64) -> Option<Decimal> {
    (whole > 0).then(|| {
        (Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    })
}

mod opt_pct {
    use rust_decimal::Decimal;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.collect_str(&format!("{d:.2}")),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn org(d: &str, members: u32, unit: bool, instructor: bool) -> CoverageInput {
        CoverageInput {
            district: d.into(),
            party_members: members,
            has_unit: unit,
            has_instructor: instructor,
        }
    }

    #[test]
    fn counts_both_coverages_per_district_and_in_total() {
        let r = coverage([
            org("历下区", 5, true, false),
            org("历下区", 2, false, true),
            org("历下区", 0, false, true),
            org("市中区", 0, false, false),
            org("市中区", 3, true, false),
        ]);
        assert_eq!(r.districts.len(), 2);
        let lixia = &r.districts[0];
        assert_eq!(lixia.district, "历下区");
        assert_eq!(lixia.organisational_coverage, Some(dec!(50.00)));
        assert_eq!(lixia.work_coverage, Some(dec!(100.00)));
        assert_eq!(r.total.with_members, 3);
        assert_eq!(r.total.organisational_coverage, Some(dec!(66.67)));
        assert_eq!(r.total.work_coverage, Some(dec!(50.00)));
        assert_eq!(percent(0, 0), None);
    }
}
