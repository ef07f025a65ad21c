use grid::{Projection, UtmZone, Wgs84};
fn main() {
    let p = Projection::new(UtmZone::new(51, true).unwrap());
    let pts: Vec<Wgs84> = (0..1_000_000).map(|i| Wgs84::new(30.2 + (i % 1000) as f64 * 1e-4, 120.1 + (i / 1000) as f64 * 1e-4).unwrap()).collect();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let u = p.to_utm_all(&pts);
        println!("batch {:.1} ns/pt {}", t.elapsed().as_nanos() as f64 / 1e6, u[5].easting);
        let t = std::time::Instant::now();
        let mut s = 0.0;
        for q in &pts[..200_000] { s += p.to_utm(*q).easting; }
        println!("single {:.1} ns/pt {}", t.elapsed().as_nanos() as f64 / 2e5, s);
    }
}
