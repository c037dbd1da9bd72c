use super::*;

fn table(rows: &[&str]) -> Table {
    let mut it = rows.iter();
    let headers = it.next().unwrap().split(',').map(String::from).collect();
    Table {
        headers,
        rows: it
            .enumerate()
            .map(|(i, r)| (i + 2, r.split(',').map(String::from).collect()))
            .collect(),
    }
}

const HEADER: &str = "统一社会信用代码,组织名称,组织类别,区县,党员数,党组织编码,党组织名称,党组织类别,组建方式,上级党组织编码,书记姓名,书记手机,任期开始";

#[test]
fn a_good_file_parses_with_superiors_first_and_joint_units_merged() {
    let t = table(&[
        HEADER,
        ",,,,,JN-LX,历下区两新工委,党委,单独组建,,,,2024-03-01",
        "91350100M000100Y43,泉城科技,企业,历下区,5,JN-001,泉城科技党支部,支部,单独组建,JN-LX,王芳,13812348000,2025-06-30",
        "91110000802100433B,甲公司,企业,历下区,2,JN-J01,联合党支部,支部,联合组建,JN-LX,李强,+86 139 0000 1111,2024-02-29",
        "91440300708461136T,乙协会,社会组织,历下区,1,JN-J01,,,,,,,",
    ]);
    let batch = parse_register(&t, &HashSet::new()).unwrap();
    assert_eq!(batch.organisations.len(), 3);
    assert_eq!(batch.units.len(), 3);
    assert_eq!(batch.units[0].code, "JN-LX");
    let joint = batch.units.iter().find(|u| u.code == "JN-J01").unwrap();
    assert_eq!(joint.formation, Formation::Joint);
    assert_eq!(
        joint.secretary.as_ref().unwrap().mobile.as_deref(),
        Some("13900001111")
    );
    // A leap-day start clamps: 2024-02-29 + 3 years = 2027-02-28.
    assert_eq!(joint.term_end, NaiveDate::from_ymd_opt(2027, 2, 28));
    let committee = &batch.units[0];
    assert_eq!(committee.term_end, NaiveDate::from_ymd_opt(2029, 3, 1));
}

#[test]
fn every_bad_row_is_reported_with_row_column_and_reason() {
    let t = table(&[
        HEADER,
        "91350100M000100Y44,泉城科技,企业,历下区,5,JN-001,泉城科技党支部,支部,单独组建,,王芳,13812348000,2025-06-30",
        "91110000802100433B,甲公司,企业,历下区,2,JN-002,甲公司党支部,支部,单独组建,,李强,1391234567,2024-01-01",
        "91440300708461136T,乙协会,社会组织,历下区,1,JN-003,乙协会党支部,支部,单独组建,JN-404,赵敏,13700001111,2024-01-01",
    ]);
    let errors = parse_register(&t, &HashSet::new()).unwrap_err();
    let located: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
    assert_eq!(
        located,
        vec![
            (2, "统一社会信用代码"),
            (3, "书记手机"),
            (4, "上级党组织编码")
        ]
    );
    assert!(errors[0].reason.contains("check character"));
    assert!(errors[1].reason.contains("mobile"));
    assert!(errors[2].reason.contains("JN-404"));
}

#[test]
fn a_superior_already_in_the_register_is_accepted() {
    let t = table(&[HEADER, ",,,,,JN-003,乙协会党支部,支部,单独组建,JN-LX,,,"]);
    let known: HashSet<String> = ["JN-LX".to_string()].into();
    assert!(parse_register(&t, &known).is_ok());
}

#[test]
fn unknown_columns_and_cycles_are_refused() {
    let t = table(&["统一社会信用代码,电话号码", "91350100M000100Y43,1"]);
    let e = parse_register(&t, &HashSet::new()).unwrap_err();
    assert_eq!((e[0].row, e[0].column.as_str()), (1, "电话号码"));

    let t = table(&[
        HEADER,
        ",,,,,A,甲,支部,单独组建,B,,,",
        ",,,,,B,乙,支部,单独组建,A,,,",
    ]);
    let e = parse_register(&t, &HashSet::new()).unwrap_err();
    assert!(e.iter().all(|e| e.reason.contains("loops back")), "{e:?}");
}

#[test]
fn contradicting_rows_of_one_unit_are_refused() {
    let t = table(&[
        HEADER,
        "91350100M000100Y43,甲,企业,历下区,5,J1,联合党支部,支部,联合组建,,,,",
        "91110000802100433B,乙,企业,历下区,2,J1,另一个名字,,,,,,",
    ]);
    let e = parse_register(&t, &HashSet::new()).unwrap_err();
    assert_eq!((e[0].row, e[0].column.as_str()), (3, "党组织名称"));
}

#[test]
fn dates_in_office_formats() {
    let d = NaiveDate::from_ymd_opt(2026, 10, 9);
    for s in [
        "2026-10-09",
        "2026/10/9",
        "2026.10.09",
        "2026年10月9日",
        "20261009",
    ] {
        assert_eq!(parse_date(s), d, "{s}");
    }
    for s in ["2026-13-01", "26-10-09", "yesterday", "2026-02-30"] {
        assert_eq!(parse_date(s), None, "{s}");
    }
}
