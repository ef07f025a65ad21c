//! The engine's rules, one test each, on a small real-coordinate network in Hangzhou.

use std::sync::Arc;

use super::*;
use crate::defect::{DefectKind, Severity};
use crate::network::RoadNetwork;

/// A 100 m primary road (one section; 21 m wide) running east from 120.16 E, 30.27 N, and a
/// residential street (7 m) 200 m north of it.
const NETWORK: &str = r#"{"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"seg_id":1,"name":"主干道","fwd_speed_kmh":65,"bwd_speed_kmh":65},
   "geometry":{"type":"LineString","coordinates":[[120.16,30.27],[120.161037,30.27]]}},
  {"type":"Feature","properties":{"seg_id":2,"name":"小巷","fwd_speed_kmh":25,"bwd_speed_kmh":25},
   "geometry":{"type":"LineString","coordinates":[[120.16,30.2718],[120.161,30.2718]]}}]}"#;

const T0: f64 = 1_763_800_000.0;
const DAY: f64 = 86_400.0;

fn engine() -> Engine {
    let network = RoadNetwork::from_geojson(NETWORK).unwrap();
    let grid = RoadGrid::build(&network, None, &|_| {}).unwrap();
    Engine::new(Arc::new(grid), Rules::default(), Areas::default())
}

/// A point on the primary road, `east_m` metres east of its start (≈ 1e-5° per metre here).
fn on_road(east_m: f64) -> Wgs84 {
    Wgs84::new(30.27, 120.16 + east_m * 1.0366e-5).unwrap()
}

fn observation(
    t: f64,
    source: Source,
    device: &str,
    kind: DefectKind,
    severity: Severity,
    confidence: f64,
    at: Wgs84,
) -> Record {
    Record::Observation(Observation {
        t,
        position: at,
        source,
        device: device.into(),
        citizen: None,
        kind,
        severity,
        confidence,
        accuracy_m: 1.0,
        outline: None,
    })
}

fn phone(t: f64, device: &str, at: Wgs84) -> Record {
    observation(
        t,
        Source::Phone,
        device,
        DefectKind::Pothole,
        Severity::Heavy,
        0.9,
        at,
    )
}

fn vehicle(t: f64, confidence: f64, at: Wgs84) -> Record {
    observation(
        t,
        Source::Vehicle,
        "patrol-1",
        DefectKind::Pothole,
        Severity::Medium,
        confidence,
        at,
    )
}

fn action(t: f64, what: ActionKind, defect: u64) -> Record {
    Record::Action(Action {
        t,
        device: "inspector-1".into(),
        action: what,
        target: Target::Defect(defect),
    })
}

/// The reasons of the refusals among some changes, in order.
fn refusals(changes: &[Change]) -> Vec<&str> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Refused { reason, .. } => Some(&**reason),
            _ => None,
        })
        .collect()
}

fn code(engine: &Engine, at: Wgs84) -> Code {
    engine.code_at(at).unwrap().1
}

#[test]
fn one_phone_never_makes_a_cell_red() {
    let mut engine = engine();
    let at = on_road(50.0);
    // The same phone, again and again, days apart (not duplicates): still one device.
    let records = (0..10)
        .map(|i| phone(T0 + f64::from(i) * DAY, "phone-a", at))
        .collect();
    engine.tick(records);
    assert_eq!(code(&engine, at), Code::Green);
    assert_eq!(engine.defect(1).unwrap().status, Status::Pending);
}

#[test]
fn three_independent_phones_at_the_same_place_do() {
    let mut engine = engine();
    let at = on_road(50.0);
    let changes = engine.tick(vec![
        phone(T0, "phone-a", at),
        phone(T0 + 60.0, "phone-b", at),
    ]);
    assert!(!changes.iter().any(|c| matches!(c, Change::CellCode { .. })));
    assert_eq!(code(&engine, at), Code::Green);
    let changes = engine.tick(vec![phone(T0 + 2.0 * DAY, "phone-c", at)]);
    assert_eq!(code(&engine, at), Code::Red);
    let cell_change = changes.iter().find_map(|c| match c {
        Change::CellCode {
            code,
            rules,
            defects,
            evidence,
            ..
        } => Some((*code, *rules, defects.clone(), evidence.clone())),
        _ => None,
    });
    assert_eq!(
        cell_change,
        Some((Code::Red, "roadcode-rules-2", vec![1], vec![0, 1, 2]))
    );
    // First phone 10 points, the others 5.
    assert_eq!(
        (
            engine.points("phone-a"),
            engine.points("phone-b"),
            engine.points("phone-c")
        ),
        (Some(10), Some(5), Some(5))
    );
}

#[test]
fn phones_too_far_apart_in_time_do_not_agree() {
    let mut engine = engine();
    let at = on_road(50.0);
    engine.tick(vec![
        phone(T0, "a", at),
        phone(T0 + 10.0 * DAY, "b", at),
        phone(T0 + 20.0 * DAY, "c", at),
    ]);
    assert_eq!(code(&engine, at), Code::Green);
}

#[test]
fn a_vehicle_detection_does_and_a_weak_one_does_not() {
    let mut engine = engine();
    engine.tick(vec![vehicle(T0, 0.69, on_road(20.0))]);
    assert_eq!(code(&engine, on_road(20.0)), Code::Green);
    let changes = engine.tick(vec![vehicle(T0 + 3600.0, 0.92, on_road(70.0))]);
    assert_eq!(code(&engine, on_road(70.0)), Code::Red);
    // A medium pothole is a hazard: dispatched to the city unit, and police are told (primary road).
    let dispatch = changes.iter().find_map(|c| match c {
        Change::Dispatch { unit, police, .. } => Some((unit.clone(), police.clone())),
        _ => None,
    });
    assert_eq!(
        dispatch,
        Some((CITY_UNIT.to_owned(), vec!["traffic police".to_owned()]))
    );
    assert_eq!(engine.defect(2).unwrap().status, Status::Dispatched);
}

#[test]
fn a_phone_and_a_weak_vehicle_detection_agree() {
    let mut engine = engine();
    let at = on_road(50.0);
    engine.tick(vec![phone(T0, "a", at), vehicle(T0 + 60.0, 0.5, at)]);
    assert_eq!(code(&engine, at), Code::Red);
}

#[test]
fn only_precise_positions_spread_a_defect_over_more_cells() {
    let mut engine = engine();
    let with_accuracy = |record: Record, accuracy_m: f64| match record {
        Record::Observation(o) => Record::Observation(Observation { accuracy_m, ..o }),
        other => other,
    };
    // A detection opens the defect on its cell, whatever its accuracy.
    engine.tick(vec![vehicle(T0, 0.9, on_road(50.5))]);
    assert_eq!(code(&engine, on_road(50.5)), Code::Red);
    // Positions 1.5 m off with 1 m accuracy join it but do not say which cell is damaged.
    engine.tick(vec![
        vehicle(T0 + 60.0, 0.9, on_road(52.0)),
        vehicle(T0 + 120.0, 0.9, on_road(49.0)),
    ]);
    assert_eq!(engine.defect(1).unwrap().evidence.len(), 3);
    assert_eq!(engine.defect(1).unwrap().cells, 1);
    assert_eq!(code(&engine, on_road(52.0)), Code::Green);
    // One within half a cell does.
    // (A day later: the same device at the same cell within minutes is a duplicate.)
    let changes = engine.tick(vec![with_accuracy(
        vehicle(T0 + DAY, 0.9, on_road(52.0)),
        0.3,
    )]);
    assert!(refusals(&changes).is_empty());
    assert_eq!(engine.defect(1).unwrap().cells, 2);
    assert_eq!(code(&engine, on_road(52.0)), Code::Red);
    assert!(engine.defect(2).is_none());
}
#[test]
fn repair_and_verification_return_the_cell_to_green_and_a_new_detection_reopens() {
    let mut engine = engine();
    let at = on_road(50.0);
    engine.tick(vec![vehicle(T0, 0.9, at)]);
    assert_eq!(code(&engine, at), Code::Red);
    engine.tick(vec![action(T0 + DAY, ActionKind::Repaired, 1)]);
    assert_eq!(code(&engine, at), Code::Green);
    engine.tick(vec![action(T0 + 2.0 * DAY, ActionKind::Verified, 1)]);
    assert_eq!(engine.defect(1).unwrap().status, Status::Verified);
    assert_eq!(code(&engine, at), Code::Green);
    let figures = engine.figures();
    assert_eq!(figures.median_hours_to_repair, Some(24.0));
    assert_eq!(figures.median_hours_to_confirmation, Some(0.0));
    // Seen again a month later: the same defect reopens and is confirmed again.
    let changes = engine.tick(vec![vehicle(T0 + 30.0 * DAY, 0.9, at)]);
    assert!(
        changes
            .iter()
            .any(|c| matches!(c, Change::Defect { reason, .. } if reason.starts_with("reopened")))
    );
    assert_eq!(engine.defect(1).unwrap().status, Status::Dispatched);
    assert_eq!(code(&engine, at), Code::Red);
}

#[test]
fn verifying_a_defect_that_is_not_repaired_is_refused() {
    let mut engine = engine();
    engine.tick(vec![vehicle(T0, 0.9, on_road(50.0))]);
    let changes = engine.tick(vec![
        action(T0 + 60.0, ActionKind::Verified, 1),
        action(T0 + 60.0, ActionKind::Repaired, 99),
    ]);
    let reasons = refusals(&changes);
    assert_eq!(
        reasons,
        vec![
            "verified defect 1: it is dispatched, not repaired",
            "repaired: no such defect"
        ]
    );
}

#[test]
fn patrols_that_pass_three_times_without_seeing_it_flag_it_possibly_repaired() {
    let mut engine = engine();
    let at = on_road(50.0);
    engine.tick(vec![vehicle(T0, 0.9, at)]);
    let pass = |t: f64| {
        Record::Pass(Pass {
            t,
            source: Source::Vehicle,
            device: "patrol-2".into(),
            citizen: None,
            path: vec![on_road(0.0), on_road(100.0)],
        })
    };
    engine.tick(vec![pass(T0 + DAY), pass(T0 + 2.0 * DAY)]);
    assert!(!engine.defect(1).unwrap().possibly_repaired);
    engine.tick(vec![pass(T0 + 3.0 * DAY)]);
    let defect = engine.defect(1).unwrap();
    assert!(defect.possibly_repaired);
    assert_eq!(
        defect.status,
        Status::Dispatched,
        "it stays red until someone checks"
    );
    assert_eq!(code(&engine, at), Code::Red);
}

#[test]
fn a_camera_outline_covers_its_cells_and_pci_matches_a_hand_computed_section() {
    let mut engine = engine();
    // A 10 m × 2 m transverse crack band across the primary road, light (w = 0.6).
    let (west, east) = (on_road(40.0).lon(), on_road(50.0).lon());
    let (south, north) = (30.27 - 1.0 / 110_850.0, 30.27 + 1.0 / 110_850.0);
    let outline = vec![
        Wgs84::new(south, west).unwrap(),
        Wgs84::new(south, east).unwrap(),
        Wgs84::new(north, east).unwrap(),
        Wgs84::new(north, west).unwrap(),
    ];
    let mut record = observation(
        T0,
        Source::Camera,
        "camera-1",
        DefectKind::TransverseCrack,
        Severity::Light,
        0.8,
        on_road(45.0),
    );
    if let Record::Observation(o) = &mut record {
        o.outline = Some(outline);
    }
    let changes = engine.tick(vec![record]);
    let defect = engine.defect(1).unwrap();
    assert!((18..=22).contains(&defect.cells), "{} cells", defect.cells);
    assert_eq!(code(&engine, on_road(45.0)), Code::Yellow);
    // By hand: A = the section's cells (the whole 100 m road: one section), DR = 100·0.6·N/A.
    let area = engine.world.resource::<Grid>().0.cell_count() as f64;
    let area_primary = area - cells_of_segment(&engine, 1) as f64;
    let dr = 100.0 * 0.6 * defect.cells as f64 / area_primary;
    let expected = 100.0 - 15.0 * dr.powf(0.412);
    let section = changes.iter().find_map(|c| match c {
        Change::Section {
            segment: 1,
            pci,
            grade,
            ..
        } => Some((*pci, *grade)),
        _ => None,
    });
    let (value, grade) = section.expect("the primary road's section was graded");
    assert!(
        (value - expected).abs() < 1e-9,
        "PCI {value}, by hand {expected}"
    );
    assert_eq!(grade, rules::Rules::default().grade(expected));
}

/// Cells that belong to the segment at `index` in the grid.
fn cells_of_segment(engine: &Engine, index: u32) -> usize {
    engine
        .world
        .resource::<Grid>()
        .0
        .index()
        .iter()
        .filter(|c| c.segment == index)
        .count()
}

#[test]
fn implausible_duplicate_and_replayed_uploads_are_refused() {
    let mut engine = engine();
    let at = on_road(50.0);
    let far = Wgs84::new(30.37, 120.16).unwrap();
    let changes = engine.tick(vec![
        phone(T0, "a", at),
        phone(T0 + 1.0, "a", on_road(50.0)),
        phone(T0 + 2.0, "a", far),
        phone(T0, "a", at),
    ]);
    let reasons = refusals(&changes);
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].starts_with("duplicate of a pothole"));
    assert!(reasons[1].starts_with("implausible speed"));
    assert!(reasons[2].starts_with("replay of an accepted record"));
    assert_eq!(engine.figures().refused, 3);
}

#[test]
fn phones_earn_coverage_points_where_patrols_have_not_been() {
    let mut engine = engine();
    let drive = |t: f64, source: Source, device: &str| {
        Record::Pass(Pass {
            t,
            source,
            device: device.into(),
            citizen: Some("citizen-9".into()),
            path: vec![on_road(0.0), on_road(100.0)],
        })
    };
    engine.tick(vec![drive(T0, Source::Phone, "phone-9")]);
    assert_eq!(engine.points("citizen-9"), Some(1));
    // A patrol passes; the citizen's next drive a day later earns nothing there.
    engine.tick(vec![
        drive(T0 + DAY, Source::Vehicle, "patrol-1"),
        drive(T0 + 2.0 * DAY, Source::Phone, "phone-9"),
    ]);
    assert_eq!(engine.points("citizen-9"), Some(1));
}

#[test]
fn off_road_observations_are_refused_with_the_reason() {
    let mut engine = engine();
    let changes = engine.tick(vec![vehicle(
        T0,
        0.9,
        Wgs84::new(30.2705, 120.1605).unwrap(),
    )]);
    assert!(
        matches!(&changes[..], [Change::Refused { reason, .. }] if reason == "no road cell within 3 m"),
        "{changes:?}"
    );
}

#[test]
fn the_same_records_give_the_same_changes_and_state() {
    let records: Vec<Record> = (0..200u32)
        .map(|i| {
            let at = on_road(f64::from(i % 97));
            match i % 4 {
                0 => vehicle(T0 + f64::from(i) * 600.0, 0.6 + f64::from(i % 5) * 0.1, at),
                1 => phone(T0 + f64::from(i) * 600.0, &format!("p{}", i % 7), at),
                2 => action(
                    T0 + f64::from(i) * 600.0,
                    ActionKind::Repaired,
                    u64::from(i % 11),
                ),
                _ => observation(
                    T0 + f64::from(i) * 600.0,
                    Source::Camera,
                    "cam",
                    DefectKind::Rutting,
                    Severity::Medium,
                    0.8,
                    at,
                ),
            }
        })
        .collect();
    let run = |records: &[Record]| {
        let mut engine = engine();
        let mut changes = Vec::new();
        for batch in records.chunks(32) {
            changes.extend(engine.tick(batch.to_vec()));
        }
        (changes, engine.figures())
    };
    let (first_changes, first_figures) = run(&records);
    let (second_changes, second_figures) = run(&records);
    assert!(!first_changes.is_empty());
    assert_eq!(first_changes, second_changes);
    assert_eq!(first_figures, second_figures);
}

#[test]
fn a_ticks_cell_codes_come_in_corner_order_whatever_order_the_cells_were_made() {
    // The same six detections, made east to west in one engine and west to east in the other, so
    // that the cells' entities are made in opposite orders.
    let cells_in_change_order = |offsets: Vec<f64>| {
        let mut engine = engine();
        let records = offsets
            .into_iter()
            .enumerate()
            .map(|(i, along)| vehicle(T0 + i as f64, 0.9, on_road(along)))
            .collect();
        engine
            .tick(records)
            .iter()
            .filter_map(|c| match c {
                Change::CellCode { cell, .. } => Some((cell.easting, cell.northing)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let east_first: Vec<f64> = (0..6).map(|i| 90.0 - 15.0 * f64::from(i)).collect();
    let west_first: Vec<f64> = east_first.iter().rev().copied().collect();
    let east_first = cells_in_change_order(east_first);
    assert_eq!(east_first.len(), 6);
    assert_eq!(east_first, cells_in_change_order(west_first));
    // The order docs/OBSERVATIONS.md gives: by corner, easting then northing.
    assert!(east_first.is_sorted());
}

#[test]
fn outlines_and_passes_that_would_cost_a_city_wide_search_are_refused() {
    let mut engine = engine();
    // A bow-tie: its signed areas cancel, but its even-odd fill would cover 2 km × 2 km.
    let bow_tie = vec![
        on_road(0.0),
        Wgs84::new(30.288, 120.18).unwrap(),
        Wgs84::new(30.27, 120.18).unwrap(),
        Wgs84::new(30.288, 120.16).unwrap(),
    ];
    let mut outline = observation(
        T0,
        Source::Camera,
        "camera-1",
        DefectKind::Rutting,
        Severity::Light,
        0.8,
        on_road(10.0),
    );
    if let Record::Observation(o) = &mut outline {
        o.outline = Some(bow_tie);
    }
    let long_pass = Record::Pass(Pass {
        t: T0 + 60.0,
        source: Source::Vehicle,
        device: "patrol-1".into(),
        citizen: None,
        path: vec![on_road(0.0), Wgs84::new(31.27, 120.16).unwrap()],
    });
    let changes = engine.tick(vec![outline, long_pass]);
    let reasons = refusals(&changes);
    assert_eq!(reasons.len(), 2, "{changes:?}");
    assert!(reasons[0].starts_with("outline spans"), "{}", reasons[0]);
    assert!(reasons[1].starts_with("a pass of 111 km"), "{}", reasons[1]);
    assert_eq!(engine.figures().refused, 2);
}
