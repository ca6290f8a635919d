//! The SQL of geo queries: PostGIS detection, the `reparse_geo_distance` function installed in
//! each app schema, and GeoPoint/Polygon values read out of jsonb.
//!
//! The plain-SQL distance is `reparse_core::geo::distance_radians` spelled in SQL: the same
//! snapping of tiny coordinates, the same radians constant (bound from Rust's own value), the
//! same operations grouped the same way, so that with the same C library (`sin`, `cos`,
//! `asin`; `sqrt` is exact everywhere) both compute the same bits.

use reparse_core::geo::{DISTANCE_SNAP_DEGREES, GeoPoint};
use tokio_postgres::Client;

use crate::GeoDistances;
use crate::sql::quote_identifier;

/// Whether PostGIS is installed in the database, and in which schema.
pub(crate) async fn detect_postgis(client: &Client) -> Result<GeoDistances, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgis'",
            &[],
        )
        .await?;
    Ok(match row {
        Some(row) => GeoDistances::Postgis { extension_schema: row.get(0) },
        None => GeoDistances::PlainSql,
    })
}

/// `CREATE OR REPLACE FUNCTION <schema>.reparse_geo_distance(location point, latitude float8,
/// longitude float8)`: the angle in radians between `location` (x longitude, y latitude) and
/// the given point; NULL for a NULL location. A one-expression SQL function, so that the
/// planner can inline it.
pub(crate) fn distance_function(schema_name: &str, distances: &GeoDistances) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {schema_name}.reparse_geo_distance(location point, latitude float8, longitude float8)
           RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
           AS $function${}$function$;",
        distance_function_body(distances)
    )
}

/// The source of `reparse_geo_distance` (what `pg_proc.prosrc` holds once it is created).
pub(crate) fn distance_function_body(distances: &GeoDistances) -> String {
    let body = match distances {
        // Radius 1: the distance on the unit sphere is the angle itself. Coordinates are
        // snapped as the core snaps them, so that tiny ones mean the same everywhere.
        GeoDistances::Postgis { extension_schema } => {
            let postgis = quote_identifier(extension_schema);
            let (x, y) = (snapped("location[0]"), snapped("location[1]"));
            let (longitude, latitude) = (snapped("longitude"), snapped("latitude"));
            format!(
                "{postgis}.ST_DistanceSphere({postgis}.ST_MakePoint({x}, {y}), {postgis}.ST_MakePoint({longitude}, {latitude}), 1::float8)"
            )
        }
        GeoDistances::PlainSql => haversine("location[1]", "location[0]", "latitude", "longitude"),
    };
    format!(" SELECT {body} ")
}

/// `reparse_core::geo::distance_radians(from, to)` as an SQL expression over four float8
/// expressions (degrees).
fn haversine(latitude_from: &str, longitude_from: &str, latitude_to: &str, longitude_to: &str) -> String {
    // `{:?}` prints the shortest text that reads back as the same double.
    let per_degree = format!("{:?}::float8", std::f64::consts::PI / 180.0);
    let radians = |degrees: &str| format!("({} * {per_degree})", snapped(degrees));
    let (latitude_from, latitude_to) = (radians(latitude_from), radians(latitude_to));
    let (longitude_from, longitude_to) = (radians(longitude_from), radians(longitude_to));
    let half_latitude = format!("sin((({latitude_to} - {latitude_from}) / 2::float8))");
    let half_longitude = format!("sin((({longitude_to} - {longitude_from}) / 2::float8))");
    let root = format!(
        "sqrt((({half_latitude} * {half_latitude}) + (((cos({latitude_from}) * cos({latitude_to})) * {half_longitude}) * {half_longitude})))"
    );
    // Capped at 1 with CASE, not LEAST: LEAST ignores NULLs, and a missing location must
    // give no distance.
    format!("(2::float8 * asin(CASE WHEN {root} > 1::float8 THEN 1::float8 ELSE {root} END))")
}

/// `reparse_core::geo::snap_degrees` of a float8 expression.
fn snapped(degrees: &str) -> String {
    format!(
        "(CASE WHEN abs({degrees}) < {:?}::float8 THEN 0::float8 ELSE {degrees} END)",
        DISTANCE_SNAP_DEGREES
    )
}

/// The `point` (x longitude, y latitude) of a jsonb expression holding a REST GeoPoint, NULL
/// for anything else (the conditions of `GeoPoint::from_value`). Nested `CASE`s, because
/// PostgreSQL does not promise to evaluate `AND` left to right.
pub(crate) fn point_from_jsonb(value: &str) -> String {
    format!(
        "(CASE WHEN jsonb_typeof({value}) = 'object' THEN CASE WHEN {value} ->> '__type' = 'GeoPoint' AND jsonb_typeof({value} -> 'latitude') = 'number' AND jsonb_typeof({value} -> 'longitude') = 'number' THEN point(({value} ->> 'longitude')::float8, ({value} ->> 'latitude')::float8) END END)"
    )
}

/// The `polygon` of a jsonb expression holding a REST Polygon (`[latitude, longitude]` pairs),
/// NULL for anything else (the conditions of `reparse_core::geo::polygon_vertices`). jsonb
/// prints numbers in full, so the text `polygon_in` reads gives back the exact doubles.
pub(crate) fn polygon_from_jsonb(value: &str) -> String {
    let coordinates = format!("({value} -> 'coordinates')");
    let pair_is_valid = "COALESCE(CASE WHEN jsonb_typeof(pair) = 'array' THEN jsonb_array_length(pair) = 2 AND jsonb_typeof(pair -> 0) = 'number' AND jsonb_typeof(pair -> 1) = 'number' END, false)";
    format!(
        "(CASE WHEN jsonb_typeof({value}) = 'object' THEN \
           CASE WHEN {value} ->> '__type' = 'Polygon' AND jsonb_typeof({coordinates}) = 'array' THEN \
             CASE WHEN jsonb_array_length({coordinates}) > 0 \
                  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements({coordinates}) AS vertex(pair) WHERE NOT {pair_is_valid}) THEN \
               (SELECT ('(' || string_agg('(' || (pair ->> 1) || ',' || (pair ->> 0) || ')', ',' ORDER BY position) || ')')::polygon \
                  FROM jsonb_array_elements({coordinates}) WITH ORDINALITY AS vertex(pair, position)) \
             END \
           END \
         END)"
    )
}

/// A query polygon as `polygon` input text, `((longitude,latitude),…)`; Rust prints each
/// double as the shortest text that reads back as the same double.
pub(crate) fn polygon_text(vertices: &[GeoPoint]) -> String {
    let points: Vec<String> =
        vertices.iter().map(|vertex| format!("({:?},{:?})", vertex.longitude, vertex.latitude)).collect();
    format!("({})", points.join(","))
}
