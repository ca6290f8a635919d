//! Geo queries: the operands of `$nearSphere` (with `$maxDistance…`), `$within`, `$geoWithin`
//! and `$geoIntersects`, parsed with parse-server's validations, and the geometry that the
//! matcher and both adapters compute alike.
//!
//! Semantics (the reference the SQL builders reproduce):
//! - A distance is the great-circle angle in radians between two points of a sphere, by the
//!   haversine formula ([`distance_radians`]). Kilometers and miles become radians through
//!   parse-server's Earth radius: 6371 km, 3959 mi (`$maxDistanceInKilometers`/`…InMiles`;
//!   the JS SDK converts with 6371.0 km and 3958.8 mi before sending radians). A point exactly
//!   at the maximum distance is in.
//! - A box holds the points on its edges, compared exactly. Its corners are normalised (the
//!   "south-west" corner may be given north-east of the other), as PostgreSQL's `box` does.
//! - A polygon holds the points inside it or on its boundary, where "on" allows 1e-6 degrees:
//!   this is PostgreSQL's `point <@ polygon` (its geometric types compare with that tolerance),
//!   which parse-server on PostgreSQL uses and Reparse's PostgreSQL adapter uses too, ported
//!   here as [`polygon_contains`] so that every implementation agrees.
//! - Only GeoPoint values are near or within anything, and only Polygon values contain a point;
//!   a missing value, or one of another type, matches no geo constraint.
//!
//! Where implementations may differ: the SQLite adapter calls these functions, so it agrees
//! bit for bit. PostgreSQL without PostGIS evaluates the same haversine operations in SQL
//! (`sin`, `cos`, `asin`, `sqrt` of the C library); results agree exactly when PostgreSQL and
//! Reparse use the same C library (tested), otherwise within an ulp, which matters only for a
//! point at exactly the maximum distance. With PostGIS, distances come from
//! `ST_DistanceSphere`, another formula for the same angle: it agrees to a relative 1e-13,
//! except that it counts points within 1e-12 radians (micrometers) as one, and near antipodes,
//! where the haversine loses precision (up to 3e-8 radians, ~20 cm) and PostGIS does not. So
//! with PostGIS a point within those margins of the maximum distance may fall on the other
//! side. Boxes and polygons are computed identically everywhere.
//!
//! Coordinates are `[longitude, latitude]` wherever a query gives them as a pair (`$polygon`
//! pairs, a Polygon's `coordinates` inside `$polygon`, the center of `$centerSphere`), as
//! parse-server reads them (GeoJSON's order); a stored Polygon's `coordinates` are
//! `[latitude, longitude]` (Parse's own order).

use serde_json::{Map, Value};

use crate::error::{ParseError, ParseResult};

/// parse-server's Earth radius in kilometers (`$maxDistanceInKilometers`).
pub const EARTH_RADIUS_KILOMETERS: f64 = 6371.0;
/// parse-server's Earth radius in miles (`$maxDistanceInMiles`).
pub const EARTH_RADIUS_MILES: f64 = 3959.0;

/// PostgreSQL's geometric tolerance (`EPSILON` in its `geo_decls.h`), in degrees.
const POLYGON_TOLERANCE: f64 = 1.0e-6;

/// Coordinates closer to zero than this (in degrees) count as zero in distances, in every
/// implementation: PostgreSQL raises an underflow error where a product of tiny values
/// rounds to zero, and snapping keeps every intermediate value far from that.
pub const DISTANCE_SNAP_DEGREES: f64 = 1.0e-100;

/// A point on the sphere, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
}

impl GeoPoint {
    /// A REST GeoPoint (`{"__type": "GeoPoint", "latitude": …, "longitude": …}`) as stored; no
    /// range check (stored values were checked when written).
    pub fn from_value(value: &Value) -> Option<GeoPoint> {
        let map = value.as_object()?;
        if map.get("__type")?.as_str()? != "GeoPoint" {
            return None;
        }
        Some(GeoPoint {
            latitude: map.get("latitude")?.as_f64()?,
            longitude: map.get("longitude")?.as_f64()?,
        })
    }
}

/// The vertices of a stored Polygon value (`{"__type": "Polygon", "coordinates":
/// [[latitude, longitude], …]}`), in order; `None` when it is not one (or has no vertex).
pub fn polygon_vertices(value: &Value) -> Option<Vec<GeoPoint>> {
    let map = value.as_object()?;
    if map.get("__type")?.as_str()? != "Polygon" {
        return None;
    }
    let coordinates = map.get("coordinates")?.as_array()?;
    if coordinates.is_empty() {
        return None;
    }
    coordinates
        .iter()
        .map(|pair| match pair.as_array()?.as_slice() {
            [latitude, longitude] => {
                Some(GeoPoint { latitude: latitude.as_f64()?, longitude: longitude.as_f64()? })
            }
            _ => None,
        })
        .collect()
}

/// A region of `$within` / `$geoWithin`.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoRegion {
    /// `$within: {$box: [southwest, northeast]}`, corners normalised, edges included.
    Box { west: f64, south: f64, east: f64, north: f64 },
    /// `$geoWithin: {$polygon: …}`: the vertices in the order given (open or closed path).
    Polygon(Vec<GeoPoint>),
    /// `$geoWithin: {$centerSphere: [center, radius]}`, the radius in radians.
    Sphere { center: GeoPoint, radius: f64 },
}

impl GeoRegion {
    pub fn contains(&self, point: GeoPoint) -> bool {
        match self {
            GeoRegion::Box { west, south, east, north } => {
                *west <= point.longitude
                    && point.longitude <= *east
                    && *south <= point.latitude
                    && point.latitude <= *north
            }
            GeoRegion::Polygon(vertices) => polygon_contains(vertices, point),
            GeoRegion::Sphere { center, radius } => distance_radians(point, *center) <= *radius,
        }
    }
}

/// `x` with magnitudes under [`DISTANCE_SNAP_DEGREES`] made zero.
pub fn snap_degrees(degrees: f64) -> f64 {
    if degrees.abs() < DISTANCE_SNAP_DEGREES { 0.0 } else { degrees }
}

/// The great-circle angle in radians between `from` and `to`, by the haversine formula.
///
/// The SQL builders spell out exactly these operations, in this order (see the PostgreSQL
/// adapter), so keep them in step: radians are degrees times `PI / 180` (what
/// `f64::to_radians` does), `h = sin²(Δφ/2) + cos φ₁ · cos φ₂ · sin²(Δλ/2)` grouped as
/// written, and the square root is capped at 1 (rounding can push it over near antipodes).
pub fn distance_radians(from: GeoPoint, to: GeoPoint) -> f64 {
    let latitude_from = snap_degrees(from.latitude).to_radians();
    let latitude_to = snap_degrees(to.latitude).to_radians();
    let longitude_from = snap_degrees(from.longitude).to_radians();
    let longitude_to = snap_degrees(to.longitude).to_radians();
    let half_latitude = ((latitude_to - latitude_from) / 2.0).sin();
    let half_longitude = ((longitude_to - longitude_from) / 2.0).sin();
    let h = half_latitude * half_latitude
        + latitude_from.cos() * latitude_to.cos() * half_longitude * half_longitude;
    2.0 * h.sqrt().min(1.0).asin()
}

/// Whether `point` is inside the polygon through `vertices` or on its boundary (within
/// 1e-6 degrees): PostgreSQL's `point_inside` (`geo_ops.c`), operation for operation, with x
/// the longitude and y the latitude.
pub fn polygon_contains(vertices: &[GeoPoint], point: GeoPoint) -> bool {
    let Some(first) = vertices.first() else {
        return false;
    };
    let relative = |vertex: &GeoPoint| (vertex.longitude - point.longitude, vertex.latitude - point.latitude);
    let (first_x, first_y) = relative(first);
    let (mut previous_x, mut previous_y) = (first_x, first_y);
    let mut total = 0;
    for vertex in &vertices[1..] {
        let (x, y) = relative(vertex);
        match crossing(x, y, previous_x, previous_y) {
            Crossing::OnBoundary => return true,
            Crossing::Count(count) => total += count,
        }
        (previous_x, previous_y) = (x, y);
    }
    match crossing(first_x, first_y, previous_x, previous_y) {
        Crossing::OnBoundary => true,
        Crossing::Count(count) => total + count != 0,
    }
}

/// How the segment from the previous vertex to a vertex (both relative to the point) meets
/// the positive x axis.
enum Crossing {
    /// The segment passes through the point.
    OnBoundary,
    /// ±2 for a crossing upwards/downwards, ±1 for a touch, 0 for none.
    Count(i32),
}

fn fuzzy_zero(a: f64) -> bool {
    a.abs() <= POLYGON_TOLERANCE
}

fn fuzzy_lt(a: f64, b: f64) -> bool {
    a + POLYGON_TOLERANCE < b
}

fn fuzzy_le(a: f64, b: f64) -> bool {
    a <= b + POLYGON_TOLERANCE
}

fn fuzzy_gt(a: f64, b: f64) -> bool {
    a > b + POLYGON_TOLERANCE
}

fn fuzzy_ge(a: f64, b: f64) -> bool {
    a + POLYGON_TOLERANCE >= b
}

/// PostgreSQL's `lseg_crossing`.
fn crossing(x: f64, y: f64, previous_x: f64, previous_y: f64) -> Crossing {
    if fuzzy_zero(y) {
        if fuzzy_zero(x) {
            return Crossing::OnBoundary;
        }
        if fuzzy_gt(x, 0.0) {
            if fuzzy_zero(previous_y) {
                return if fuzzy_gt(previous_x, 0.0) { Crossing::Count(0) } else { Crossing::OnBoundary };
            }
            return Crossing::Count(if fuzzy_lt(previous_y, 0.0) { 1 } else { -1 });
        }
        if fuzzy_zero(previous_y) {
            return if fuzzy_lt(previous_x, 0.0) { Crossing::Count(0) } else { Crossing::OnBoundary };
        }
        return Crossing::Count(0);
    }
    let y_sign = if fuzzy_gt(y, 0.0) { 1 } else { -1 };
    if fuzzy_zero(previous_y) {
        return Crossing::Count(if fuzzy_lt(previous_x, 0.0) { 0 } else { y_sign });
    }
    if (y_sign < 0 && fuzzy_lt(previous_y, 0.0)) || (y_sign > 0 && fuzzy_gt(previous_y, 0.0)) {
        return Crossing::Count(0);
    }
    if fuzzy_ge(x, 0.0) && fuzzy_gt(previous_x, 0.0) {
        return Crossing::Count(2 * y_sign);
    }
    if fuzzy_lt(x, 0.0) && fuzzy_le(previous_x, 0.0) {
        return Crossing::Count(0);
    }
    let z = (x - previous_x) * y - (y - previous_y) * x;
    if fuzzy_zero(z) {
        return Crossing::OnBoundary;
    }
    if (y_sign < 0 && fuzzy_lt(z, 0.0)) || (y_sign > 0 && fuzzy_gt(z, 0.0)) {
        return Crossing::Count(0);
    }
    Crossing::Count(2 * y_sign)
}

// ---------------------------------------------------------------------------------------------
// Parsing, with parse-server's messages. Shape errors are 107; coordinates out of range are
// code 1, because parse-server's `Parse.GeoPoint._validate` throws a TypeError there (the client
// sees 500 "Internal server error.").

/// The keys that give `$nearSphere` its maximum distance, and how many of their unit make a
/// radian (the distance is divided by it, as parse-server does).
pub const MAX_DISTANCE_OPERATORS: [(&str, f64); 4] = [
    ("$maxDistance", 1.0),
    ("$maxDistanceInRadians", 1.0),
    ("$maxDistanceInMiles", EARTH_RADIUS_MILES),
    ("$maxDistanceInKilometers", EARTH_RADIUS_KILOMETERS),
];

/// Whether `op` is one of the `$maxDistance…` keys.
pub fn is_max_distance_operator(op: &str) -> bool {
    MAX_DISTANCE_OPERATORS.iter().any(|(name, _)| *name == op)
}

/// `$nearSphere`'s point and its maximum distance in radians, from the operators of one field.
pub fn parse_near_sphere(
    point: &Value,
    operators: &Map<String, Value>,
) -> ParseResult<(GeoPoint, Option<f64>)> {
    let point = geo_point_operand(point)
        .ok_or_else(|| ParseError::invalid_json("bad $nearSphere value; should be a GeoPoint"))?;
    let point = validated(point.latitude, point.longitude)?;
    let mut max_distance = None;
    for (name, units_per_radian) in MAX_DISTANCE_OPERATORS {
        let Some(value) = operators.get(name) else { continue };
        if max_distance.is_some() {
            return Err(ParseError::invalid_query("bad $nearSphere: give one maximum distance"));
        }
        let distance = value
            .as_f64()
            .filter(|distance| *distance >= 0.0)
            .ok_or_else(|| ParseError::invalid_json(format!("bad {name} value")))?;
        max_distance = Some(distance / units_per_radian);
    }
    Ok((point, max_distance))
}

/// `$within`'s operand: `{"$box": [southwest, northeast]}`.
pub fn parse_within(operand: &Value) -> ParseResult<GeoRegion> {
    let malformed = || ParseError::invalid_json("malformatted $within arg");
    let corners = operand.get("$box").and_then(Value::as_array).ok_or_else(malformed)?;
    let [south_west, north_east] = corners.as_slice() else {
        return Err(malformed());
    };
    let (Some(a), Some(b)) = (geo_point_operand(south_west), geo_point_operand(north_east)) else {
        return Err(malformed());
    };
    let (Some(a), Some(b)) = (finite(a), finite(b)) else {
        return Err(malformed());
    };
    Ok(GeoRegion::Box {
        west: a.longitude.min(b.longitude),
        south: a.latitude.min(b.latitude),
        east: a.longitude.max(b.longitude),
        north: a.latitude.max(b.latitude),
    })
}

/// `$geoWithin`'s operand: `{"$polygon": …}` or `{"$centerSphere": …}`.
pub fn parse_geo_within(operand: &Value) -> ParseResult<GeoRegion> {
    let bad = || ParseError::invalid_json("bad $geoWithin value");
    let map = operand.as_object().ok_or_else(bad)?;
    match (map.get("$polygon"), map.get("$centerSphere")) {
        (Some(polygon), None) => parse_polygon(polygon),
        (None, Some(sphere)) => parse_center_sphere(sphere),
        (Some(_), Some(_)) => {
            Err(ParseError::invalid_json("bad $geoWithin value; use either $polygon or $centerSphere"))
        }
        (None, None) => Err(bad()),
    }
}

fn parse_polygon(polygon: &Value) -> ParseResult<GeoRegion> {
    let points = if polygon.get("__type").and_then(Value::as_str) == Some("Polygon") {
        match polygon.get("coordinates").and_then(Value::as_array) {
            Some(coordinates) if coordinates.len() >= 3 => coordinates,
            _ => {
                return Err(ParseError::invalid_json(
                    "bad $geoWithin value; Polygon.coordinates should contain at least 3 lon/lat pairs",
                ));
            }
        }
    } else if let Some(points) = polygon.as_array() {
        if points.len() < 3 {
            return Err(ParseError::invalid_json(
                "bad $geoWithin value; $polygon should contain at least 3 GeoPoints",
            ));
        }
        points
    } else {
        return Err(ParseError::invalid_json(
            "bad $geoWithin value; $polygon should be Polygon object or Array of Parse.GeoPoint's",
        ));
    };
    let vertices = points
        .iter()
        .map(|point| match point.as_array() {
            Some(pair) if pair.len() == 2 => validated_pair(&pair[1], &pair[0]),
            _ => match geo_point_fields(point) {
                Some((latitude, longitude)) => validated_pair(latitude, longitude),
                None => Err(ParseError::invalid_json("bad $geoWithin value")),
            },
        })
        .collect::<ParseResult<Vec<_>>>()?;
    Ok(GeoRegion::Polygon(vertices))
}

fn parse_center_sphere(sphere: &Value) -> ParseResult<GeoRegion> {
    let items = match sphere.as_array() {
        Some(items) if items.len() >= 2 => items,
        _ => {
            return Err(ParseError::invalid_json(
                "bad $geoWithin value; $centerSphere should be an array of Parse.GeoPoint and distance",
            ));
        }
    };
    let center = match items[0].as_array() {
        Some(pair) if pair.len() == 2 => validated_pair(&pair[1], &pair[0])?,
        _ => match geo_point_fields(&items[0]) {
            Some((latitude, longitude)) => validated_pair(latitude, longitude)?,
            None => {
                return Err(ParseError::invalid_json(
                    "bad $geoWithin value; $centerSphere geo point invalid",
                ));
            }
        },
    };
    let radius = items[1]
        .as_f64()
        .filter(|radius| *radius >= 0.0)
        .ok_or_else(|| ParseError::invalid_json("bad $geoWithin value; $centerSphere distance invalid"))?;
    Ok(GeoRegion::Sphere { center, radius })
}

/// `$geoIntersects`'s operand: `{"$point": GeoPoint}`.
pub fn parse_geo_intersects(operand: &Value) -> ParseResult<GeoPoint> {
    match operand.get("$point").and_then(geo_point_fields) {
        Some((latitude, longitude)) => validated_pair(latitude, longitude),
        None => Err(ParseError::invalid_json("bad $geoIntersect value; $point should be GeoPoint")),
    }
}

/// The latitude and longitude members of a `{"__type": "GeoPoint"}` object, whatever they are.
fn geo_point_fields(value: &Value) -> Option<(&Value, &Value)> {
    if value.get("__type")?.as_str()? != "GeoPoint" {
        return None;
    }
    Some((value.get("latitude").unwrap_or(&Value::Null), value.get("longitude").unwrap_or(&Value::Null)))
}

/// A GeoPoint operand with numeric coordinates.
fn geo_point_operand(value: &Value) -> Option<GeoPoint> {
    let (latitude, longitude) = geo_point_fields(value)?;
    Some(GeoPoint { latitude: latitude.as_f64()?, longitude: longitude.as_f64()? })
}

fn finite(point: GeoPoint) -> Option<GeoPoint> {
    (point.latitude.is_finite() && point.longitude.is_finite()).then_some(point)
}

fn validated_pair(latitude: &Value, longitude: &Value) -> ParseResult<GeoPoint> {
    match (latitude.as_f64(), longitude.as_f64()) {
        (Some(latitude), Some(longitude)) => validated(latitude, longitude),
        _ => Err(ParseError::internal("GeoPoint latitude and longitude must be valid numbers")),
    }
}

/// parse-server's `Parse.GeoPoint._validate`: latitude in [-90, 90], longitude in [-180, 180].
fn validated(latitude: f64, longitude: f64) -> ParseResult<GeoPoint> {
    let out_of_bounds = |what: &str, value: f64, bound: &str| {
        Err(ParseError::internal(format!("GeoPoint {what} out of bounds: {value} {bound}.")))
    };
    if !latitude.is_finite() || !longitude.is_finite() {
        return Err(ParseError::internal("GeoPoint latitude and longitude must be valid numbers"));
    }
    if latitude < -90.0 {
        return out_of_bounds("latitude", latitude, "< -90.0");
    }
    if latitude > 90.0 {
        return out_of_bounds("latitude", latitude, "> 90.0");
    }
    if longitude < -180.0 {
        return out_of_bounds("longitude", longitude, "< -180.0");
    }
    if longitude > 180.0 {
        return out_of_bounds("longitude", longitude, "> 180.0");
    }
    Ok(GeoPoint { latitude, longitude })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn point(latitude: f64, longitude: f64) -> GeoPoint {
        GeoPoint { latitude, longitude }
    }

    #[test]
    fn distances_are_haversine_angles() {
        // Quarter of a great circle along the equator, and from the equator to a pole.
        let quarter = std::f64::consts::FRAC_PI_2;
        assert!((distance_radians(point(0.0, 0.0), point(0.0, 90.0)) - quarter).abs() < 1e-15);
        assert!((distance_radians(point(0.0, 0.0), point(90.0, 0.0)) - quarter).abs() < 1e-15);
        assert_eq!(distance_radians(point(12.5, -3.0), point(12.5, -3.0)), 0.0);
        // Antipodes: rounding may push the haversine over 1, which is capped.
        assert!((distance_radians(point(0.0, 0.0), point(0.0, 180.0)) - std::f64::consts::PI).abs() < 1e-15);
        // San Francisco to Sacramento, about 134 km.
        let kilometers =
            distance_radians(point(37.75, -122.68), point(38.52, -121.5)) * EARTH_RADIUS_KILOMETERS;
        assert!((kilometers - 133.0).abs() < 2.0, "{kilometers}");
        // Symmetric, bit for bit.
        let (a, b) = (point(-33.86, 151.2), point(51.5, -0.12));
        assert_eq!(distance_radians(a, b), distance_radians(b, a));
        // Tiny coordinates are snapped to zero instead of underflowing.
        assert_eq!(distance_radians(point(1e-300, 0.0), point(0.0, 0.0)), 0.0);
    }

    #[test]
    fn boxes_include_their_edges() {
        let region = GeoRegion::Box { west: 0.0, south: 0.0, east: 10.0, north: 10.0 };
        assert!(region.contains(point(10.0, 10.0)));
        assert!(region.contains(point(0.0, 5.0)));
        assert!(!region.contains(point(10.000_000_000_001, 5.0)));
        assert!(!region.contains(point(5.0, -0.000_000_000_1)));
    }

    #[test]
    fn polygons_follow_postgresql_with_its_tolerance() {
        let square: Vec<GeoPoint> =
            [(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0)].iter().map(|(a, b)| point(*a, *b)).collect();
        assert!(polygon_contains(&square, point(1.5, 1.5)));
        assert!(polygon_contains(&square, point(10.0, 10.0)), "a vertex");
        assert!(polygon_contains(&square, point(5.0, 0.0)), "an edge");
        // PostgreSQL's tolerance is not symmetric: these four answers are what
        // `polygon '((0,0),(10,0),(10,10),(0,10))' @> point(x, y)` gives.
        assert!(polygon_contains(&square, point(-0.000_000_5, 5.0)), "5e-7 below the bottom edge");
        assert!(polygon_contains(&square, point(0.0, -0.000_000_5)), "5e-7 beside a vertex");
        assert!(!polygon_contains(&square, point(5.0, -0.000_000_5)), "5e-7 left of the left edge");
        assert!(!polygon_contains(&square, point(5.0, 10.000_000_5)), "5e-7 right of the right edge");
        assert!(!polygon_contains(&square, point(-0.000_01, 5.0)));
        assert!(!polygon_contains(&square, point(20.0, 20.0)));
        // A concave polygon: the notch is outside.
        let notched: Vec<GeoPoint> = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (5.0, 5.0), (0.0, 10.0)]
            .iter()
            .map(|(latitude, longitude)| point(*latitude, *longitude))
            .collect();
        assert!(polygon_contains(&notched, point(5.0, 2.0)));
        assert!(polygon_contains(&notched, point(8.0, 5.0)));
        assert!(!polygon_contains(&notched, point(5.0, 8.0)));
        assert!(!polygon_contains(&[], point(0.0, 0.0)));
        assert!(polygon_contains(&[point(1.0, 2.0)], point(1.0, 2.0)), "a one-point polygon holds itself");
    }

    #[test]
    fn stored_values_are_read_leniently() {
        let stored = json!({"__type": "GeoPoint", "latitude": 1.5, "longitude": -2});
        assert_eq!(GeoPoint::from_value(&stored), Some(point(1.5, -2.0)));
        assert_eq!(GeoPoint::from_value(&json!({"__type": "GeoPoint", "latitude": "1"})), None);
        assert_eq!(GeoPoint::from_value(&json!({"latitude": 1, "longitude": 2})), None);
        let polygon = json!({"__type": "Polygon", "coordinates": [[1, 2], [3, 4], [5, 6]]});
        assert_eq!(polygon_vertices(&polygon), Some(vec![point(1.0, 2.0), point(3.0, 4.0), point(5.0, 6.0)]));
        assert_eq!(polygon_vertices(&json!({"__type": "Polygon", "coordinates": []})), None);
        assert_eq!(polygon_vertices(&json!({"__type": "Polygon", "coordinates": [[1]]})), None);
    }

    #[test]
    fn operands_fail_with_parse_server_codes_and_messages() {
        let geo = |latitude: f64, longitude: f64| json!({"__type": "GeoPoint", "latitude": latitude, "longitude": longitude});
        let error = parse_within(&json!({"$box": [geo(0.0, 0.0)]})).unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (ErrorCode::InvalidJson, "malformatted $within arg")
        );
        let error = parse_geo_within(&json!({"$polygon": [[0, 0], [1, 1]]})).unwrap_err();
        assert_eq!(error.message, "bad $geoWithin value; $polygon should contain at least 3 GeoPoints");
        let error = parse_geo_within(&json!({"$polygon": {"__type": "Polygon", "coordinates": [[0, 0]]}}))
            .unwrap_err();
        assert_eq!(
            error.message,
            "bad $geoWithin value; Polygon.coordinates should contain at least 3 lon/lat pairs"
        );
        let error = parse_geo_within(&json!({"$polygon": 1234})).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidJson);
        let error = parse_geo_within(&json!({"$polygon": [{}, [1, 1], [2, 2]]})).unwrap_err();
        assert_eq!((error.code, error.message.as_str()), (ErrorCode::InvalidJson, "bad $geoWithin value"));
        // Out of range: parse-server's TypeError, code 1.
        let error = parse_geo_within(&json!({"$polygon": [[0, 0], [181, 0], [0, 10]]})).unwrap_err();
        assert_eq!(error.code, ErrorCode::InternalServerError);
        let error = parse_geo_within(&json!({"$polygon": [geo(0.0, 0.0), geo(91.0, 0.0), geo(0.0, 1.0)]}))
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InternalServerError);
        let error = parse_geo_within(&json!({"$centerSphere": [[0, 0], -1]})).unwrap_err();
        assert_eq!(error.message, "bad $geoWithin value; $centerSphere distance invalid");
        let error = parse_geo_within(&json!({"$centerSphere": [5, 1]})).unwrap_err();
        assert_eq!(error.message, "bad $geoWithin value; $centerSphere geo point invalid");
        let error = parse_geo_within(&json!({"$centerSphere": [[0, 0]]})).unwrap_err();
        assert_eq!(
            error.message,
            "bad $geoWithin value; $centerSphere should be an array of Parse.GeoPoint and distance"
        );
        assert_eq!(parse_geo_within(&json!({"$geometry": {}})).unwrap_err().code, ErrorCode::InvalidJson);
        let error = parse_geo_intersects(&json!({"$point": [1, 2]})).unwrap_err();
        assert_eq!(error.message, "bad $geoIntersect value; $point should be GeoPoint");
        let error = parse_geo_intersects(&json!({"$point": geo(181.0, 181.0)})).unwrap_err();
        assert_eq!(error.code, ErrorCode::InternalServerError);
    }

    #[test]
    fn operands_read_pairs_as_longitude_then_latitude() {
        let polygon = parse_geo_within(&json!({"$polygon": [[0, 0], [1, 0], [1, 1]]})).unwrap();
        assert_eq!(polygon, GeoRegion::Polygon(vec![point(0.0, 0.0), point(0.0, 1.0), point(1.0, 1.0)]));
        let sphere = parse_geo_within(&json!({"$centerSphere": [[-122.5, 37.5], 0.1]})).unwrap();
        assert_eq!(sphere, GeoRegion::Sphere { center: point(37.5, -122.5), radius: 0.1 });
        let corners = json!({"$box": [
            {"__type": "GeoPoint", "latitude": 0, "longitude": 1},
            {"__type": "GeoPoint", "latitude": 10, "longitude": 0},
        ]});
        assert_eq!(
            parse_within(&corners).unwrap(),
            GeoRegion::Box { west: 0.0, south: 0.0, east: 1.0, north: 10.0 }
        );
    }
}
