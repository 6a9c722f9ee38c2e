//! Distance between provinces for ranking the board: 0 within a province, a nominal 50 km
//! between two provinces of one region, otherwise the great-circle distance between the two
//! regions' approximate centroids. Coarse on purpose (a fallback to per-province centroids): it
//! orders places near, in the region, then farther away, which is what the on-duty operator needs.

use crate::domain::Province;

/// Approximate centroids (latitude, longitude) of the twenty regions, by ISTAT code.
const REGION_CENTROIDS: [(&str, f64, f64); 20] = [
    ("01", 45.05, 7.92),
    ("02", 45.74, 7.32),
    ("03", 45.59, 9.77),
    ("04", 46.43, 11.17),
    ("05", 45.66, 12.02),
    ("06", 46.07, 13.13),
    ("07", 44.32, 8.70),
    ("08", 44.53, 11.04),
    ("09", 43.45, 11.11),
    ("10", 42.97, 12.49),
    ("11", 43.35, 13.13),
    ("12", 41.89, 12.77),
    ("13", 42.23, 13.85),
    ("14", 41.68, 14.60),
    ("15", 40.86, 14.84),
    ("16", 41.01, 16.62),
    ("17", 40.50, 16.08),
    ("18", 39.07, 16.35),
    ("19", 37.59, 14.15),
    ("20", 40.09, 9.03),
];

/// Kilometres between two provinces, as described above.
pub fn km(a: Province, b: Province) -> u32 {
    if a.code == b.code {
        return 0;
    }
    if a.region == b.region {
        return 50;
    }
    let at = |r: &str| {
        REGION_CENTROIDS
            .iter()
            .find(|(c, _, _)| *c == r)
            .map(|(_, la, lo)| (*la, *lo))
    };
    let (Some((la1, lo1)), Some((la2, lo2))) = (at(a.region), at(b.region)) else {
        return 2000;
    };
    let (p1, p2) = (la1.to_radians(), la2.to_radians());
    let dp = p2 - p1;
    let dl = (lo2 - lo1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    (2.0 * 6371.0 * h.sqrt().asin()).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_before_far() {
        let p = |s| Province::parse(s).expect("province");
        assert_eq!(km(p("VE"), p("VE")), 0);
        assert_eq!(km(p("VE"), p("PD")), 50);
        assert!(km(p("VE"), p("MI")) < km(p("VE"), p("PA")));
    }
}
