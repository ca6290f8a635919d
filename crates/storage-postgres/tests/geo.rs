//! The PostgreSQL side of geo queries computes what `reparse_core::geo` computes: the plain-SQL
//! `reparse_geo_distance` bit for bit, PostGIS's up to the documented differences of its
//! formula, and the native `@>` / `<@` operators exactly as the core's ports of them, on many
//! generated points (near boundaries on purpose).

mod support;

use reparse_core::geo::{GeoPoint, GeoRegion, distance_radians, polygon_contains};
use support::{TemporaryStorage, config_for, fresh_storage, fresh_storage_with_postgis};

/// A small deterministic generator (xorshift64*), so that failures reproduce.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[low, high)`.
    fn between(&mut self, low: f64, high: f64) -> f64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        low + (high - low) * unit
    }

    fn point(&mut self) -> GeoPoint {
        GeoPoint { latitude: self.between(-90.0, 90.0), longitude: self.between(-180.0, 180.0) }
    }

    /// Points chosen to stress the formulas: poles, antipodes, tiny and identical coordinates.
    fn awkward_pair(&mut self) -> (GeoPoint, GeoPoint) {
        let a = self.point();
        match self.next() % 7 {
            0 => (
                a,
                GeoPoint { latitude: -a.latitude, longitude: a.longitude - 180.0_f64.copysign(a.longitude) },
            ),
            1 => (a, a),
            2 => (GeoPoint { latitude: 90.0, longitude: a.longitude }, a),
            3 => (
                GeoPoint { latitude: 1e-300, longitude: -5e-324 },
                GeoPoint { latitude: 0.0, longitude: 1e-101 },
            ),
            4 => (a, GeoPoint { latitude: a.latitude + 1e-12, longitude: a.longitude }),
            5 => (
                a,
                GeoPoint {
                    latitude: -a.latitude + self.between(-1e-6, 1e-6),
                    longitude: a.longitude - 180.0_f64.copysign(a.longitude) + self.between(-1e-6, 1e-6),
                },
            ),
            _ => (a, self.point()),
        }
    }
}

async fn client(storage: &TemporaryStorage) -> tokio_postgres::Client {
    let (client, connection) =
        config_for(storage.database).connect(tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// `reparse_geo_distance` of each pair, evaluated by PostgreSQL.
async fn distances_in_sql(storage: &TemporaryStorage, pairs: &[(GeoPoint, GeoPoint)]) -> Vec<Option<f64>> {
    let column = |pick: fn(&(GeoPoint, GeoPoint)) -> f64| pairs.iter().map(pick).collect::<Vec<f64>>();
    let sql = format!(
        "SELECT \"{}\".reparse_geo_distance(point(x, y), latitude, longitude)
           FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[]) WITH ORDINALITY
                AS pair(x, y, latitude, longitude, position)
          ORDER BY position",
        storage.schema
    );
    let rows = client(storage)
        .await
        .query(
            &sql,
            &[
                &column(|(from, _)| from.longitude),
                &column(|(from, _)| from.latitude),
                &column(|(_, to)| to.latitude),
                &column(|(_, to)| to.longitude),
            ],
        )
        .await
        .expect("distances");
    rows.iter().map(|row| row.get(0)).collect()
}

fn pairs(seed: u64, count: usize) -> Vec<(GeoPoint, GeoPoint)> {
    let mut generator = Generator(seed);
    (0..count).map(|_| generator.awkward_pair()).collect()
}

#[tokio::test]
async fn plain_sql_distances_are_the_cores_bit_for_bit() {
    let Some(storage) = fresh_storage().await else { return };
    let pairs = pairs(0x5EED_0001, 3000);
    let in_sql = distances_in_sql(&storage, &pairs).await;
    let mismatches: Vec<String> = pairs
        .iter()
        .zip(&in_sql)
        .filter(|((from, to), sql)| **sql != Some(distance_radians(*from, *to)))
        .map(|((from, to), sql)| {
            format!("{from:?} → {to:?}: SQL {sql:?}, core {}", distance_radians(*from, *to))
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        pairs.len(),
        mismatches.join("\n")
    );
    // No location, no distance.
    let none = client(&storage)
        .await
        .query_one(&format!("SELECT \"{}\".reparse_geo_distance(NULL, 0, 0)", storage.schema), &[])
        .await
        .expect("null distance");
    assert_eq!(none.get::<_, Option<f64>>(0), None);
}

#[tokio::test]
async fn postgis_distances_are_the_cores_but_for_formula_differences() {
    let Some(storage) = fresh_storage_with_postgis().await else { return };
    let pairs = pairs(0x5EED_0002, 3000);
    let in_sql = distances_in_sql(&storage, &pairs).await;
    // The formulas differ (PostGIS: the atan2 form of the great-circle angle), so:
    // - PostGIS counts coordinates within 1e-12 radians of each other as the same point;
    // - near antipodes the haversine loses precision (up to ~3e-8 radians, ~20 cm on Earth);
    // - elsewhere they agree to a relative 1e-13.
    for ((from, to), sql) in pairs.iter().zip(&in_sql) {
        let core = distance_radians(*from, *to);
        let sql = sql.expect("a distance");
        let agree = if sql == 0.0 {
            core <= 2e-12
        } else if core > std::f64::consts::PI - 1e-3 {
            (sql - core).abs() <= 1e-7
        } else {
            (sql - core).abs() <= 1e-13 * core
        };
        assert!(agree, "{from:?} → {to:?}: PostGIS {sql}, core {core}");
    }
}

#[tokio::test]
async fn native_polygon_and_box_operators_are_the_cores() {
    let Some(storage) = fresh_storage().await else { return };
    let client = client(&storage).await;
    let mut generator = Generator(0x5EED_0003);
    let mut mismatches = Vec::new();
    for _ in 0..300 {
        // A random polygon of 3 to 7 vertices in a small area, some closed.
        let center = GeoPoint {
            latitude: generator.between(-60.0, 60.0),
            longitude: generator.between(-170.0, 170.0),
        };
        let count = 3 + (generator.next() % 5) as usize;
        let mut vertices: Vec<GeoPoint> = (0..count)
            .map(|_| GeoPoint {
                latitude: center.latitude + generator.between(-5.0, 5.0),
                longitude: center.longitude + generator.between(-5.0, 5.0),
            })
            .collect();
        if generator.next().is_multiple_of(2) {
            vertices.push(vertices[0]);
        }
        // Points inside, outside, on vertices and edges, and within or just past 1e-6 of them.
        let mut points = Vec::new();
        for _ in 0..20 {
            points.push(GeoPoint {
                latitude: center.latitude + generator.between(-6.0, 6.0),
                longitude: center.longitude + generator.between(-6.0, 6.0),
            });
        }
        for pair in vertices.windows(2) {
            let t = generator.between(0.0, 1.0);
            let on_edge = GeoPoint {
                latitude: pair[0].latitude + (pair[1].latitude - pair[0].latitude) * t,
                longitude: pair[0].longitude + (pair[1].longitude - pair[0].longitude) * t,
            };
            for offset in [0.0, 4e-7, -4e-7, 2e-6, -2e-6] {
                points.push(GeoPoint { latitude: on_edge.latitude + offset, longitude: on_edge.longitude });
                points.push(GeoPoint { latitude: on_edge.latitude, longitude: on_edge.longitude + offset });
            }
            points.push(pair[0]);
        }
        let polygon: String = format!(
            "({})",
            vertices
                .iter()
                .map(|v| format!("({:?},{:?})", v.longitude, v.latitude))
                .collect::<Vec<_>>()
                .join(",")
        );
        let (west, south) = (
            vertices[0].longitude.min(vertices[1].longitude),
            vertices[0].latitude.min(vertices[1].latitude),
        );
        let (east, north) = (
            vertices[0].longitude.max(vertices[1].longitude),
            vertices[0].latitude.max(vertices[1].latitude),
        );
        let region = GeoRegion::Box { west, south, east, north };
        let longitudes: Vec<f64> = points.iter().map(|point| point.longitude).collect();
        let latitudes: Vec<f64> = points.iter().map(|point| point.latitude).collect();
        let rows = client
            .query(
                "SELECT $1::text::polygon @> point(x, y), point(x, y) <@ box(point($2, $3), point($4, $5))
                   FROM unnest($6::float8[], $7::float8[]) WITH ORDINALITY AS p(x, y, position)
                  ORDER BY position",
                &[&polygon, &west, &south, &east, &north, &longitudes, &latitudes],
            )
            .await
            .expect("operators");
        for (point, row) in points.iter().zip(&rows) {
            let (in_polygon, in_box): (bool, bool) = (row.get(0), row.get(1));
            if in_polygon != polygon_contains(&vertices, *point) {
                mismatches.push(format!("polygon {polygon} @> {point:?}: PostgreSQL {in_polygon}"));
            }
            if in_box != region.contains(*point) {
                mismatches.push(format!("box {region:?} ∋ {point:?}: PostgreSQL {in_box}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}
